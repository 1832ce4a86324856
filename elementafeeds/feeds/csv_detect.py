"""CSV detection from the sample: encoding, delimiter, header, and the sample's own errors.

The delimiter is the candidate (`,` `;` tab `|`) giving the most consistent number of fields
(at least two) over the first 200 records. Header names are stripped; an empty one becomes
`column_N` and a repeated one `name_2`, each with a note for `ef preview`. A sample mostly
undecodable in the chosen encoding is an error (the encoding lies); a few bad lines are
record problems for the reader to report.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from itertools import islice
from typing import Any

from elementafeeds.errors import FeedError
from elementafeeds.feeds.contracts import FeedSpec, RecordProblem
from elementafeeds.feeds.csv_reader import _SURROGATES, _csv_error
from elementafeeds.feeds.detect import decoder_name, detect_encoding, sample_text

DELIMITERS = (",", ";", "\t", "|")


def detect_csv(head: bytes, feed: Any, at_eof: bool,
               notes: list[RecordProblem] | None) -> FeedSpec:
    opts = feed.csv
    encoding, _ = detect_encoding(head, opts.encoding, at_eof, notes)
    _check_decodes(head, encoding, at_eof)
    text = sample_text(head, encoding, at_eof)
    for _ in range(opts.skip_lines):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    quotechar = opts.quotechar or None
    delimiter = opts.delimiter if opts.delimiter != "auto" else \
        sniff_delimiter(text, quotechar)
    csv.field_size_limit(opts.max_field_bytes)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                        quotechar=quotechar)
    rows: list[list[str]] = []
    line = 0
    try:
        for row in islice(reader, 201):
            line = reader.line_num
            if row:
                rows.append(row)
    except csv.Error as exc:
        raise _csv_error(exc, opts.max_field_bytes, line + 1 + opts.skip_lines) from exc
    if not rows:
        raise FeedError("the CSV has no lines after skip_lines",
                        hint="check csv.skip_lines, or whether the feed is empty")
    if opts.header:
        columns = _columns(rows[0], notes)
        data = rows[1:]
    else:
        width = Counter(len(r) for r in rows).most_common(1)[0][0]
        columns = tuple(f"column_{i}" for i in range(1, width + 1))
        data = rows
    if at_eof and len(data) <= opts.skip_footer_lines:
        raise FeedError("the CSV feed holds no records" +
                        (" (only a header line)" if opts.header else ""),
                        hint="the network published an empty feed; a run would see every "
                             "product as gone, so it stops here")
    return FeedSpec("csv", encoding, delimiter, quotechar, opts.header, opts.skip_lines,
                    opts.skip_footer_lines, opts.max_field_bytes, None, columns)


def _columns(header: list[str], notes: list[RecordProblem] | None) -> tuple[str, ...]:
    names: list[str] = []
    seen: Counter[str] = Counter()
    for index, raw in enumerate(header, start=1):
        name = raw.replace("\x00", "").lstrip("\ufeff").strip()
        if not name:
            name = f"column_{index}"
            if notes is not None:
                notes.append(RecordProblem(None, name, f"column {index} has no header; "
                                           f"read as {name}"))
        seen[name] += 1
        if seen[name] > 1:
            renamed = f"{name}_{seen[name]}"
            if notes is not None:
                notes.append(RecordProblem(None, renamed, f"the header '{name}' appears more "
                                           f"than once; this one is read as {renamed}"))
            name = renamed
        names.append(name)
    return tuple(names)


def sniff_delimiter(text: str, quotechar: str | None) -> str:
    """The candidate giving the most consistent number of fields (at least two) per row."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in islice(csv.reader(io.StringIO(text, newline=""),
                                                 delimiter=delimiter, quotechar=quotechar,
                                                 quoting=csv.QUOTE_MINIMAL if quotechar
                                                 else csv.QUOTE_NONE), 200) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        width, freq = Counter(len(r) for r in rows).most_common(1)[0]
        if width < 2:
            continue
        score = (round(freq / len(rows), 2), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _check_decodes(head: bytes, encoding: str, at_eof: bool) -> None:
    """A few bad lines are record problems; a sample mostly undecodable means the encoding is
    wrong for this feed (a lie in the configuration or in the feed), which is an error."""
    text = head.decode(decoder_name(encoding), "surrogateescape")
    lines = text.splitlines()[:-1] if not at_eof else text.splitlines()
    bad = sum(1 for line in lines if _SURROGATES.search(line))
    if lines and bad > max(3, len(lines) // 20):
        raise FeedError(
            f"the feed is not {encoding}: {bad} of the first {len(lines)} lines cannot be "
            "decoded", hint="set the feed's csv.encoding to the right codec (or to auto)")
    nul = sum(1 for line in lines if "\x00" in line)
    if lines and nul > max(3, len(lines) // 2):
        raise FeedError(
            f"the feed is not {encoding}: {nul} of the first {len(lines)} lines are full of NUL "
            "bytes, as UTF-16 text without a byte-order mark is",
            hint="set the feed's csv.encoding to utf-16-le (or utf-16-be)")
