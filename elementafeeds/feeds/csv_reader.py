"""The CSV/TSV reader: streaming and byte-range chunks (detection is in csv_detect.py).

Records are `dict[str, str]` keyed by the header (stripped; an empty header becomes
`column_N`, a repeated one `name_2`), or `column_1 …` without a header. A row with too few
values is padded with "" and one with too many keeps the rest under `_extra` (a list); both
are reported as problems, never dropped. NUL bytes are removed and undecodable bytes become
U+FFFD, each with a problem naming the record and column. A field over `max_field_bytes` is a
HostileFeedError naming the line: usually an unbalanced quote swallowing the lines after it.

Speed: blocks of 1 MB are decoded at once (strict decoding first; the slow, checking path runs
only for blocks that need it) and split into lines for one `csv.reader`, which keeps its
state across lines, so quoted newlines work. Both paths — the stream (`iter_rows`) and the
byte ranges (`read_chunk`) — share the record builder, so they give the same records.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from functools import partial
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds import chunkfiles
from elementafeeds.feeds.contracts import (
    ChunkRead,
    ChunkStream,
    ChunkTask,
    FeedSpec,
    RecordProblem,
    Row,
)
from elementafeeds.feeds.csv_scan import UTF8_BOM, Guess, footer_cut, line_at, plan_ranges
from elementafeeds.feeds.detect import (
    bom_of,
    decoder_name,
    is_ascii_compatible,
)
from elementafeeds.feeds.streams import Readable

BLOCK = 1024 * 1024
_SURROGATES = re.compile("[\udc80-\udcff]")


def _lines(text: str) -> Iterable[str]:
    """Lines with their endings, split exactly as a file opened with newline="" splits them
    (str.splitlines would also split at \x0b, \x1c or \u2028 inside values, and checking for
    those cost more than this C iterator: measured)."""
    return io.StringIO(text, newline="")


def _decode(data: bytes, decoder: str) -> tuple[str, bool]:
    """(text, dirty): dirty when the slow per-record checks must run."""
    try:
        text = data.decode(decoder)
    except UnicodeDecodeError:
        return data.decode(decoder, "surrogateescape"), True
    return text, "\x00" in text


class _LineTooLong(Exception):
    """A physical line longer than any record may be (raised inside the line generator)."""


class _Flag:
    """`dirty` while the rows being parsed came from a block that needs per-record checks;
    `line` is the reader's line count after the last record (for error messages); `probed`
    once the end probe was read as a row of its own."""

    __slots__ = ("dirty", "line", "probed")

    def __init__(self) -> None:
        self.dirty = False
        self.line = 0
        self.probed = False


class _Builder:
    """Rows → records, with the problems of each record (shared by every path)."""

    def __init__(self, spec: FeedSpec) -> None:
        self.columns = spec.columns or ()
        self.width = len(self.columns)
        self.encoding = spec.encoding
        self.limit = spec.max_field_bytes

    def records(self, reader: Any, flag: _Flag, first: int, sink: list[RecordProblem] | None,
                first_line: int | Callable[[], int] = 1, skip_header: bool = False,
                sticky: bool = False, probe: list[str] | None = None,
                only: Collection[str] | None = None) -> Iterator[dict[str, Any]]:
        """Records from a csv reader (blank rows skipped); problems go to `sink` before each
        yield; csv errors become FeedErrors naming the record's line. `sticky`: every row is
        checked (a chunk that needs checking). `probe`: the row that ends the records and
        sets `flag.probed` (never the width of a record: one-column feeds get no probe).
        `only`: the columns the caller reads; a common row's record holds just those.

        The common row — right width, clean block — costs one dict(zip()): this loop is the
        reader's hot path (measured: a method call or a generator layer per row made reading
        10–20 % slower), so everything is inline here."""
        columns, width = self.columns, self.width
        pick = None
        if only is not None:  # a dict of 7 columns instead of 18: 0.25 µs a record less
            names = [name for name in columns if name in only]
            at = [columns.index(name) for name in names]
            pick = itemgetter(*at) if len(at) > 1 else lambda row: [row[i] for i in at]
            columns = names
        ordinal = first - 1
        flag.dirty = flag.dirty or sticky
        try:
            if skip_header:
                for header in reader:
                    if header:
                        break
            flag.line = reader.line_num
            for row in reader:
                if len(row) == width and not flag.dirty:
                    ordinal += 1
                    flag.line = reader.line_num
                    yield dict(zip(columns, row if pick is None else pick(row)))
                    continue
                if not row:
                    continue
                if row == probe:
                    flag.probed = True
                    return
                ordinal += 1
                record, problems = self._slow(row, ordinal, flag.dirty)
                flag.line = reader.line_num
                flag.dirty = sticky
                if sink is not None and problems:
                    sink.extend(problems)
                yield record
        except (csv.Error, _LineTooLong) as exc:
            line = (first_line() if callable(first_line) else first_line) + flag.line
            if isinstance(exc, _LineTooLong):
                exc = csv.Error("field larger than field limit")
            raise _csv_error(exc, self.limit, line) from None

    def _slow(self, row: list[str], ordinal: int,
              dirty: bool) -> tuple[dict[str, Any], list[RecordProblem]]:
        problems: list[RecordProblem] = []
        if dirty:
            row = self._clean(row, ordinal, problems)
        columns, width = self.columns, self.width
        record: dict[str, Any] = dict(zip(columns, row))
        if len(row) < width:
            for name in columns[len(row):]:
                record[name] = ""
            problems.append(RecordProblem(
                ordinal, None, f"{len(row)} values for {width} columns; the missing ones are "
                "empty"))
        elif len(row) > width:
            record["_extra"] = row[width:]
            problems.append(RecordProblem(
                ordinal, None, f"{len(row)} values for {width} columns; the rest are kept in "
                "_extra"))
        return record, problems

    def _clean(self, row: list[str], ordinal: int,
               problems: list[RecordProblem]) -> list[str]:
        clean = list(row)
        for i, value in enumerate(row):
            column = self.columns[i] if i < self.width else "_extra"
            if "\x00" in value:
                value = value.replace("\x00", "")
                problems.append(RecordProblem(ordinal, column, "NUL bytes removed"))
            if _SURROGATES.search(value):
                value = _SURROGATES.sub("\ufffd", value)
                problems.append(RecordProblem(
                    ordinal, column, f"undecodable bytes (not valid {self.encoding}) "
                    "replaced with \ufffd"))
            clean[i] = value
        return clean


def _csv_error(exc: csv.Error, limit: int, line: int) -> FeedError:
    if "field larger than field limit" in str(exc):
        return HostileFeedError(
            f"the CSV record at line {line} has a field larger than {limit} bytes "
            "(csv.max_field_bytes): most likely an unbalanced quote swallowing the lines "
            "after it", hint="fix the feed's quoting, or raise csv.max_field_bytes")
    return FeedError(f"the CSV cannot be parsed near line {line}: {exc}")


class CsvReader:
    """Reader plugin for CSV/TSV (entry point `csv`)."""

    format = "csv"

    def detect(self, head: bytes, stream: Readable, feed: Any, at_eof: bool,
               notes: list[RecordProblem] | None = None) -> FeedSpec:
        from elementafeeds.feeds.csv_detect import detect_csv

        return detect_csv(head, feed, at_eof, notes)

    # --- streaming ---------------------------------------------------------------------------

    def iter_rows(self, stream: Readable, spec: FeedSpec) -> Iterator[Row]:
        sink: list[RecordProblem] = []
        for ordinal, record in enumerate(self._stream(stream, spec, sink), start=1):
            if sink:
                problems = list(sink)
                sink.clear()
                yield Row(ordinal, record, problems)
            else:
                yield Row(ordinal, record, None)

    def iter_records(self, stream: Readable, spec: FeedSpec) -> Iterator[dict[str, Any]]:
        """Records only (no problem objects): the fast path of `iter_records`."""
        return self._stream(stream, spec, None)

    def _stream(self, stream: Readable, spec: FeedSpec,
                sink: list[RecordProblem] | None) -> Iterator[dict[str, Any]]:
        flag = _Flag()
        if is_ascii_compatible(spec.encoding):
            lines = self._byte_lines(stream, spec, flag)
        else:
            lines = self._text_lines(stream, spec)
        csv.field_size_limit(spec.max_field_bytes)
        reader = csv.reader(lines, delimiter=spec.delimiter or ",", quotechar=spec.quotechar,
                            strict=False)
        return _Builder(spec).records(reader, flag, 1, sink, first_line=1 + spec.skip_lines,
                                      skip_header=spec.has_header)

    def _byte_blocks(self, stream: Readable, spec: FeedSpec) -> Iterator[bytes]:
        """Blocks cut after a line end: BOM and skip_lines removed, footer lines held back."""
        first = True
        carry = b""
        skip = spec.skip_lines
        hold = b""
        longest = spec.max_field_bytes * (len(spec.columns or ()) + 1) + BLOCK
        while True:
            data = stream.read(BLOCK)
            eof = not data
            data = carry + data
            if first and data:
                first = False
                data = data.removeprefix(UTF8_BOM)
            while skip and data:
                newline = data.find(b"\n")
                if newline < 0:
                    break
                data, skip = data[newline + 1:], skip - 1
            if eof:
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1 or data.rfind(b"\r", 0, len(data) - 1) + 1
            block, carry = data[:cut], data[cut:]
            if len(carry) > longest:
                raise _LineTooLong()
            if skip and not eof:
                carry = block + carry
                block = b""
            if spec.skip_footer_lines:
                hold += block
                at = footer_cut(hold, spec.skip_footer_lines)
                block = b"" if at is None else hold[:at]
                hold = hold if at is None else hold[at:]
            if block:
                yield block
            if eof:
                return

    def _byte_lines(self, stream: Readable, spec: FeedSpec, flag: _Flag) -> Iterator[str]:
        """Lines for csv.reader through C iterators only (chain of per-block lists): a Python
        generator resumed per line cost 10 % of the reading time (measured)."""
        decoder = decoder_name(spec.encoding)

        def block_lines(block: bytes) -> Iterable[str]:
            text, dirty = _decode(block, decoder)
            return _flagging(_lines(text), flag) if dirty else _lines(text)

        return chain.from_iterable(map(block_lines, self._byte_blocks(stream, spec)))

    def _text_lines(self, stream: Readable, spec: FeedSpec) -> Iterator[str]:
        """UTF-16/32: decode incrementally, then the same line handling on text."""
        import codecs

        head = stream.read(4)
        _, bom = bom_of(head)
        decoder = codecs.getincrementaldecoder(decoder_name(spec.encoding))("replace")
        text = decoder.decode(head[bom:]) if bom else decoder.decode(head)
        raw = _TextAsBytes(text, stream, decoder)
        blocks = self._byte_blocks(raw, spec)  # type: ignore[arg-type]
        return chain.from_iterable(_lines(block.decode("utf-8")) for block in blocks)

    # --- chunks ------------------------------------------------------------------------------

    def plan_chunks(self, path: Path, spec: FeedSpec, work_dir: Path,
                    records_per_chunk: int = 500,
                    target_bytes: int | None = None) -> Iterator[ChunkTask]:
        if not is_ascii_compatible(spec.encoding):
            sink: list[RecordProblem] = []
            with path.open("rb") as handle:
                yield from chunkfiles.write_chunks(
                    enumerate(self._stream(handle, spec, sink), 1), spec, work_dir,
                    records_per_chunk, sink)
            return
        for index, (start, end, first, line, _) in enumerate(
                plan_ranges(path, spec, records_per_chunk, target_bytes)):
            yield ChunkTask(index, str(path), start, end, spec, first, line)

    def plan_quick(self, path: Path, spec: FeedSpec, work_dir: Path, records_per_chunk: int,
                   guess: Guess | None, begin: int | None) -> Iterator[ChunkTask]:
        """Chunks whose ends are guessed, from `begin` on; see `api.plan_chunks`. Feeds that
        are not byte ranges are planned as usual."""
        if not is_ascii_compatible(spec.encoding):
            yield from self.plan_chunks(path, spec, work_dir, records_per_chunk)
            return
        for index, (start, end, first, line, check) in enumerate(
                plan_ranges(path, spec, records_per_chunk, None, guess, begin)):
            yield ChunkTask(index, str(path), start, end, spec, first, line, check)

    def read_chunk(self, task: ChunkTask) -> ChunkRead:
        if task.is_chunk_file:
            return chunkfiles.read_chunk_file(task)
        stream = self.stream_chunk(task)
        records = list(stream.records)
        if stream.misaligned:
            return ChunkRead(misaligned=True)
        return ChunkRead(records, stream.problems)

    def stream_chunk(self, task: ChunkTask,
                     columns: Collection[str] | None = None) -> ChunkStream:
        if task.is_chunk_file:
            read = chunkfiles.read_chunk_file(task)
            return ChunkStream(iter(read.records), read.problems)
        spec = task.spec
        with open(task.path, "rb") as handle:
            handle.seek(task.start)
            data = handle.read(task.end - task.start)
        text, dirty = _decode(data, decoder_name(spec.encoding))
        csv.field_size_limit(spec.max_field_bytes)
        lines: Iterable[str] = _lines(text)
        probe = None
        if task.check_end:
            quote, marker = spec.quotechar or "", f"{_PROBE}:{os.urandom(8).hex()}"
            lines = chain(lines, (f"{quote}{marker}\n",))
            probe = [f"{marker}\n" if quote else marker]
        reader = csv.reader(lines, delimiter=spec.delimiter or ",", quotechar=spec.quotechar,
                            strict=False)
        problems: list[RecordProblem] = []
        first_line = task.first_line or partial(line_at, task.path, task.start)
        flag = _Flag()
        records = _Builder(spec).records(reader, flag, task.first_record, problems,
                                         first_line, sticky=dirty, probe=probe, only=columns)
        return ChunkStream(records, problems, lambda: probe is not None and not flag.probed)


_PROBE = "ef:end-probe"
"""The end probe: the line `"ef:end-probe:NONCE` after a chunk whose end was guessed. Where
the chunk ends a record, csv reads it as a row of its own, `ef:end-probe:NONCE\n` (the quote
opens a field the data's end leaves open); where the chunk ends inside a quoted field, its
quote closes that field and the probe's text joins the chunk's last row. Either way the last
row tells, and the probe never becomes a record. The nonce is random for each chunk, so no
feed can hold a record that passes for the probe and cuts a chunk short."""


def _flagging(lines: Iterable[str], flag: _Flag) -> Iterator[str]:
    """Lines of a block that needs per-record checks: each one re-arms the flag."""
    for line in lines:
        flag.dirty = True
        yield line


class _TextAsBytes:
    """Incrementally decoded text re-encoded as UTF-8, so the byte path can cut its lines."""

    def __init__(self, first: str, stream: Readable, decoder: Any) -> None:
        self._first = first.encode("utf-8")
        self._stream: Readable | None = stream
        self._decoder = decoder

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        if self._first:
            data, self._first = self._first, b""
            return data
        while self._stream is not None:
            raw = self._stream.read(BLOCK)
            if not raw:
                self._stream = None
                return self._decoder.decode(b"", final=True).encode("utf-8")
            text = self._decoder.decode(raw)
            if text:
                return text.encode("utf-8")
        return b""
