"""The JSON reader: ijson for documents, one `json.loads` per line for JSON lines.

Records keep JSON's own types (strings, numbers as int/float, booleans, null, nested objects
and arrays) for the mapping layer to reach into. The record path is an ijson prefix: `item`
for a top-level array, `products.item` for `{"products": [...]}`; detected as the top-level
array or the first array of objects; `""` means JSON lines (one object per line, NDJSON).

ijson must run on its C backend (yajl2_c, ~180 MB/s); the pure-Python one is about 20 times
slower, so its absence is logged once at import and shown by `ef preview`.
JSON lines are chunked like CSV, by byte ranges cut at newlines; documents through chunk files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds import chunkfiles
from elementafeeds.feeds.contracts import ChunkRead, ChunkTask, FeedSpec, RecordProblem, Row
from elementafeeds.feeds.detect import bom_of, codec_name
from elementafeeds.feeds.streams import PrefixedStream, Readable, read_upto

log = logging.getLogger(__name__)
DETECT_EVENTS = 200_000
LINE_BLOCK = 4 * 1024 * 1024


def _backend() -> Any:
    try:
        return ijson.get_backend("yajl2_c")
    except (ImportError, ValueError):
        log.warning("ijson's C backend (yajl2_c) is missing: JSON feeds read about 20x slower; "
                    "reinstall ijson with its compiled extension")
        return ijson


BACKEND = _backend()
BACKEND_WARNING = None if BACKEND is not ijson and getattr(BACKEND, "backend_name", "") \
    == "yajl2_c" else "ijson runs without its C backend (yajl2_c): JSON is read ~20x slower"


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


class _Utf8:
    """A stream in another Unicode encoding, re-encoded as UTF-8 for ijson."""

    def __init__(self, stream: Readable, encoding: str) -> None:
        import codecs

        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson probes the stream's type with read(0)
        while not self._done:
            raw = self._stream.read(65536)
            text = self._decoder.decode(raw, final=not raw)
            self._done = not raw
            if text:
                return text.encode("utf-8")
        return b""


class _Bounded:
    """Stops the parser when one record takes more than `limit` bytes.

    Checked as the parser reads, not when it yields: ijson's C backend grows a giant string in
    quadratic time, so waiting for the record would take many seconds and much memory.
    """

    def __init__(self, stream: Readable, limit: int) -> None:
        self._stream = stream
        self.limit = limit
        self.count = 0
        self.mark = 0
        self.records = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        if self.count - self.mark > self.limit:
            raise HostileFeedError(
                f"JSON record {self.records + 1} takes more than {self.limit / 2**20:.0f} MB: "
                "a record this size is not a product",
                hint="raise csv.max_field_bytes if the feed really holds such fields")
        return data


def record_limit(spec: FeedSpec) -> int:
    """The most bytes one record may take: four fields at the field limit, at least 8 MB."""
    return max(4 * spec.max_field_bytes, 8 << 20)


def _body(stream: Readable, encoding: str) -> Readable:
    """The document without its BOM, as UTF-8."""
    head = read_upto(stream, 4)
    _, bom = bom_of(head)
    rest = PrefixedStream(head[bom:], stream)
    name = codec_name(encoding)
    return rest if name in ("utf-8", "utf-8-sig", "ascii") else _Utf8(rest, encoding)


def _json_lines_head(text: str) -> bool:
    """Two complete objects on the first two lines: JSON lines (one compact object alone is
    a document, whose records are inside it)."""
    lines = [line for line in text.split("\n")[:3] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return isinstance(json.loads(lines[0]), dict) and lines[1].lstrip().startswith("{")
    except ValueError:
        return False


class JsonReader:
    """Reader plugin for JSON and JSON lines (entry point `json`)."""

    format = "json"

    def detect(self, head: bytes, stream: Readable, feed: Any, at_eof: bool,
               notes: list[RecordProblem] | None = None) -> FeedSpec:
        encoding, bom = bom_of(head)
        encoding = codec_name(encoding or "utf-8")
        text = head[bom:].decode("utf-8" if encoding.startswith("utf-8") else encoding,
                                 errors="replace").lstrip()
        configured = feed.json_.records
        if BACKEND_WARNING and notes is not None:
            notes.append(RecordProblem(None, None, BACKEND_WARNING))
        if text.startswith("{") and _json_lines_head(text):
            if configured not in (None, ""):
                raise FeedError(f"the feed is JSON lines (one object per line), but "
                                f"json.records is '{configured}'",
                                hint="leave json.records out for a JSON-lines feed")
            return self._spec(feed, encoding, "")
        path = self._record_path(PrefixedStream(head, stream), encoding, configured)
        return self._spec(feed, encoding, path)

    def _spec(self, feed: Any, encoding: str, path: str) -> FeedSpec:
        return FeedSpec("json", encoding, None, None, False, 0, 0, feed.csv.max_field_bytes,
                        path, None)

    def _record_path(self, stream: Readable, encoding: str, configured: str | None) -> str:
        root: str | None = None
        keys: list[str] = []
        first_array: str | None = None
        seen_configured = False
        complete = False
        try:
            for n, (prefix, event, value) in enumerate(
                    BACKEND.parse(_body(stream, encoding))):
                if root is None:
                    root = event
                if prefix == "" and event == "map_key":
                    keys.append(value)
                if configured is not None and (prefix == configured or
                                               prefix.startswith(configured + ".")):
                    seen_configured = True
                    break
                if configured is None and event == "start_map" and prefix.endswith("item") \
                        and first_array is None and (prefix == "item" or
                                                     prefix.endswith(".item")):
                    first_array = prefix
                    break
                if n > DETECT_EVENTS:
                    break
            else:
                complete = True
        except ijson.common.JSONError as exc:
            raise FeedError(f"the JSON feed is not valid JSON ({_short(exc)})",
                            hint="a truncated download or a broken file") from exc
        shape = "an array" if root == "start_array" else "an object" if root == "start_map" \
            else "a single value"
        if configured is not None:
            if seen_configured:
                return configured
            first = configured.split(".")[0]
            if complete or (root == "start_array") != (first == "item"):
                found = f" with keys {', '.join(keys[:8])}" if keys else ""
                raise FeedError(
                    f"the JSON feed has no records at '{configured}': its root is {shape}"
                    f"{found}", hint="fix the feed's json.records (an ijson prefix such as "
                    "item or products.item), or leave it out to detect it")
            return configured
        if first_array is None:
            raise FeedError(f"no array of objects found in the JSON feed (its root is {shape})",
                            hint="set the feed's json.records to the records' ijson prefix")
        return first_array

    # --- streaming ---------------------------------------------------------------------------

    def iter_rows(self, stream: Readable, spec: FeedSpec) -> Iterator[Row]:
        sink: list[RecordProblem] = []
        for ordinal, record in self._records(stream, spec, sink):
            problems = list(sink) if sink else None
            sink.clear()
            yield Row(ordinal, record, problems)

    def iter_records(self, stream: Readable, spec: FeedSpec) -> Iterator[dict[str, Any]]:
        for _, record in self._records(stream, spec, None):
            yield record

    def _records(self, stream: Readable, spec: FeedSpec,
                 sink: list[RecordProblem] | None) -> Iterator[tuple[int, dict[str, Any]]]:
        if spec.record_path == "":
            yield from _lines_records(_line_blocks(_body(stream, spec.encoding)), 1, sink,
                                      final=True)
            return
        count = 0
        ordinal = 0
        body = _Bounded(_body(stream, spec.encoding), record_limit(spec))
        try:
            for item in BACKEND.items(body, spec.record_path, use_float=True):
                ordinal += 1
                body.mark, body.records = body.count, ordinal
                if item.__class__ is not dict:
                    if sink is not None:
                        sink.append(RecordProblem(ordinal, None, "not a JSON object; skipped"))
                    continue
                count += 1
                yield ordinal, item
        except ijson.common.JSONError as exc:
            raise FeedError(f"the JSON feed breaks off or is invalid after record {ordinal} "
                            f"({_short(exc)})",
                            hint="a truncated download or a broken file; fetch it again") \
                from exc
        if count == 0:
            raise FeedError(f"the JSON feed holds no records at '{spec.record_path}'",
                            hint="check the feed's json.records")

    # --- chunks ------------------------------------------------------------------------------

    def plan_chunks(self, path: Path, spec: FeedSpec, work_dir: Path,
                    records_per_chunk: int = 500,
                    target_bytes: int | None = None) -> Iterator[ChunkTask]:
        if spec.record_path == "" and codec_name(spec.encoding) in ("utf-8", "ascii"):
            yield from _plan_lines(path, spec, records_per_chunk)
            return
        sink: list[RecordProblem] = []
        with path.open("rb") as handle:
            yield from chunkfiles.write_chunks(self._records(handle, spec, sink), spec,
                                               work_dir, records_per_chunk, sink)

    def read_chunk(self, task: ChunkTask) -> ChunkRead:
        if task.is_chunk_file:
            return chunkfiles.read_chunk_file(task)
        with open(task.path, "rb") as handle:
            handle.seek(task.start)
            data = handle.read(task.end - task.start)
        out = ChunkRead()
        final = task.end >= Path(task.path).stat().st_size
        out.records = [record for _, record in _lines_records(
            iter([data]), task.first_record, out.problems, final=final)]
        return out


def _line_blocks(stream: Readable) -> Iterator[bytes]:
    carry = b""
    while True:
        data = stream.read(LINE_BLOCK)
        if not data:
            if carry:
                yield carry
            return
        data = carry + data
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            yield data[:cut]


def _lines_records(blocks: Iterator[bytes], first: int, sink: list[RecordProblem] | None,
                   final: bool) -> Iterator[tuple[int, dict[str, Any]]]:
    """Records of JSON lines; the ordinal of a record is its line number."""
    loads = json.loads
    line_no = first - 1
    count = 0
    for block in blocks:
        lines = block.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        last = len(lines) - 1
        for i, line in enumerate(lines):
            line_no += 1
            if not line.strip():
                continue
            try:
                value = loads(line)
            except ValueError as exc:
                if final and i == last and not block.endswith(b"\n"):
                    raise FeedError(f"the JSON-lines feed breaks off in line {line_no}",
                                    hint="a truncated download; fetch it again") from exc
                if sink is not None:
                    sink.append(RecordProblem(line_no, None,
                                              f"invalid JSON ({_short(exc)}); skipped"))
                continue
            if value.__class__ is not dict:
                if sink is not None:
                    sink.append(RecordProblem(line_no, None, "not a JSON object; skipped"))
                continue
            count += 1
            yield line_no, value


def _plan_lines(path: Path, spec: FeedSpec, per_chunk: int) -> Iterator[ChunkTask]:
    """Byte ranges of about `per_chunk` lines, cut at newlines; ordinals are line numbers."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(3)
        start = 3 if head == b"\xef\xbb\xbf" else 0
        handle.seek(start)
        sample = handle.read(1024 * 1024)
        lines_in_sample = max(1, sample.count(b"\n"))
        step = max(4096, len(sample) * per_chunk // lines_in_sample)
        index, line, pos = 0, 1, start
        while pos < size:
            handle.seek(min(size, pos + step))
            handle.readline()
            end = min(size, handle.tell())
            if end <= pos:
                end = size
            handle.seek(pos)
            lines = handle.read(end - pos).count(b"\n")
            yield ChunkTask(index, str(path), pos, end, spec, line, line)
            index, line, pos = index + 1, line + lines, end
