"""CSV structure at the byte level: where records start, without parsing them.

The chunk planner cuts a CSV feed into byte ranges at record boundaries so workers parse
their own bytes. A quoted field may hold newlines, so boundaries come from one compiled,
possessive regular expression that follows the `csv` module's own (non-strict) rules: a quote
opens a quoted field only at the start of a field, `""` inside is a quote, and a quote anywhere
else is a literal character (`Monitor 24",` in an unquoted field). It runs in C at about
800 MB/s on quote-heavy Awin-like data (measured: 0.24 s for 200 MB), against 0.9 s for a
bare `csv.reader` loop. Blank lines fold into the previous record's terminator, as `csv`
skips them. Only for encodings whose structural characters are ASCII bytes (UTF-8, Latin-1,
cp125x …); UTF-16/32 feeds go through the text path instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds.contracts import FeedSpec
from elementafeeds.feeds.decompress import human_bytes
from elementafeeds.feeds.detect import decoder_name

BLOCK = 1024 * 1024
REFILL = 4 * BLOCK
UTF8_BOM = b"\xef\xbb\xbf"


@lru_cache(maxsize=32)
def record_regex(delimiter: str, quotechar: str | None, encoding: str) -> re.Pattern[bytes]:
    """One record with its line terminator(s), as an atomic group."""
    enc = decoder_name(encoding)
    if quotechar is None:
        body = rb"[^\r\n]*+"
    else:
        d = re.escape(delimiter.encode(enc))
        q = re.escape(quotechar.encode(enc))
        # text | a quoted field (opened at a field start) | a literal quote inside a field
        body = (rb"(?:[^" + q + rb"\r\n]++|(?<![^" + d + rb"\r\n])" + q + rb"[^" + q +
                rb"]*+(?:" + q + q + rb"[^" + q + rb"]*+)*+" + q + rb"|(?<=[^" + d +
                rb"\r\n])" + q + rb")*+")
    return re.compile(rb"(?>" + body + rb"[\r\n]++)")


@lru_cache(maxsize=32)
def _repeat(pattern: re.Pattern[bytes], count: int, exact: bool) -> re.Pattern[bytes]:
    quant = b"{%d}" % count if exact else b"{0,%d}" % count
    return re.compile(pattern.pattern + quant)


def footer_cut(data: bytes, lines: int) -> int | None:
    """Offset in `data` where its last `lines` non-blank lines begin; None if it has fewer."""
    if lines <= 0:
        return len(data)
    end, found = len(data), 0
    while end > 0:
        start = data.rfind(b"\n", 0, end - 1) + 1
        if data[start:end].strip():
            found += 1
            if found == lines:
                return start
        end = start
    return None


def data_bounds(path: Path, spec: FeedSpec) -> tuple[int, int, int]:
    """(first byte of the data, end of the data before any footer, line of the first byte)."""
    regex = record_regex(spec.delimiter or ",", spec.quotechar, spec.encoding)
    with path.open("rb") as handle:
        buf = handle.read(BLOCK)
        eof = len(buf) < BLOCK
        pos = len(UTF8_BOM) if buf.startswith(UTF8_BOM) else 0
        for _ in range(spec.skip_lines):
            newline = buf.find(b"\n", pos)
            while newline < 0 and not eof:
                more = handle.read(BLOCK)
                eof = len(more) < BLOCK
                buf += more
                newline = buf.find(b"\n", pos)
            pos = len(buf) if newline < 0 else newline + 1
        if spec.has_header:
            while True:
                match = regex.match(buf, pos)
                if eof or (match is not None and match.end() < len(buf)):
                    break
                if len(buf) - pos > spec.max_field_bytes * 64:
                    raise FeedError("the CSV header line never ends (an unbalanced quote?)")
                more = handle.read(BLOCK)
                eof = len(more) < BLOCK
                buf += more
            pos = match.end() if match is not None else len(buf)
        line = buf.count(b"\n", 0, pos) + 1
        start = pos
        handle.seek(0, 2)
        size = handle.tell()
        end = _footer_offset(handle, size, start, spec.skip_footer_lines)
    return start, max(start, end), line


def _footer_offset(handle, size: int, floor: int, lines: int) -> int:  # type: ignore[no-untyped-def]
    if lines <= 0:
        return size
    span = 64 * 1024
    while True:
        begin = max(floor, size - span)
        handle.seek(begin)
        tail = handle.read(size - begin)
        cut = footer_cut(tail, lines)
        if cut is not None and (cut > 0 or begin == floor):
            return begin + cut
        if begin == floor:
            return floor
        span *= 4


def plan_ranges(path: Path, spec: FeedSpec, records_per_chunk: int,
                target_bytes: int | None) -> Iterator[tuple[int, int, int, int]]:
    """(start, end, first_record, first_line) of each chunk, lazily, in feed order."""
    start, end, line = data_bounds(path, spec)
    regex = record_regex(spec.delimiter or ",", spec.quotechar, spec.encoding)
    ncols = len(spec.columns or ()) or 1
    longest = spec.max_field_bytes * (ncols + 1) + BLOCK
    per_chunk = max(1, records_per_chunk)
    ordinal, want, pos = 1, 4 * BLOCK, start
    with path.open("rb") as handle:
        handle.seek(start)
        base, buf = start, bytearray()  # grows and shrinks in place: no copies to peak memory
        while pos < end:
            rel = pos - base
            if len(buf) - rel < want and base + len(buf) < end:
                del buf[:rel]
                base, rel = pos, 0
                buf += handle.read(min(end - base - len(buf), max(want - len(buf), REFILL)))
            at_end = base + len(buf) >= end
            match = _repeat(regex, per_chunk, True).match(buf, rel)
            if match is not None and (match.end() < len(buf) or at_end):
                count, cut = per_chunk, match.end()
            else:
                upto = _repeat(regex, per_chunk, False).match(buf, rel)
                cut = upto.end() if upto is not None else rel
                if cut == len(buf) and not at_end:
                    cut = _drop_last_record(regex, buf, rel, cut)
                if cut > rel:
                    count = len(regex.findall(buf, rel, cut))
                elif at_end:
                    count, cut = 1, len(buf)  # a last record without a line terminator
                else:
                    if len(buf) - rel > longest:
                        raise HostileFeedError(
                            f"the CSV record at line {line or line_at(path, base + rel)} is "
                            f"longer than {human_bytes(longest)} (csv.max_field_bytes for each "
                            "column): most likely an unbalanced quote swallowing the lines "
                            "after it", hint="fix the feed's quoting, or raise "
                                             "csv.max_field_bytes if its fields are this large")
                    want = max(want * 2, len(buf) - rel + BLOCK)
                    continue
            yield base + rel, base + cut, ordinal, line
            line = 0  # later chunks: counted only when a message needs it (see line_at)
            ordinal += count
            pos = base + cut
            size = cut - rel
            if target_bytes and count:
                per_chunk = max(1, int(target_bytes * count / max(size, 1)))
            want = max(4 * BLOCK, 2 * size)


def line_at(path: str | Path, offset: int) -> int:
    """The 1-based line of the byte at `offset` (for error messages only: it reads the file)."""
    lines = 1
    with open(path, "rb") as handle:
        while offset > 0:
            block = handle.read(min(BLOCK * 8, offset))
            if not block:
                break
            lines += block.count(b"\n")
            offset -= len(block)
    return lines


def _drop_last_record(regex: re.Pattern[bytes], buf: bytearray, rel: int, cut: int) -> int:
    """The match reached the end of the buffer: its last record may go on beyond it."""
    last = rel
    for found in regex.finditer(buf, rel, cut):
        if found.end() < cut:
            last = found.end()
    return last
