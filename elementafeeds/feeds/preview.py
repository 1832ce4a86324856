"""`ef preview FEED`: the first records of a feed, how it was read, and what looks wrong.

It streams: the feed is opened as a stream (an HTTP download or a local file, decompressed on
the fly), detection reads a sample that is replayed in front of the stream, the reader stops
after the requested rows, and closing the stream ends the download. A preview of a 500 MB
remote feed transfers a few hundred KB.

Warnings are data (`RecordProblem`s): missing and duplicate headers, empty columns, ragged
rows, undecodable bytes, control characters, duplicate ids in the sample, an HTML page served
instead of a feed, and detection's own notes (a guessed encoding, repaired entities).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from elementafeeds.feeds.contracts import RecordProblem, Row
from elementafeeds.feeds.detect import HtmlPageError, detect_stream
from elementafeeds.feeds.fetch import open_feed_stream
from elementafeeds.feeds.registry import get_reader
from elementafeeds.feeds.streams import Rewindable

ID_COLUMNS = ("id", "g:id", "sku", "aw_product_id", "merchant_product_id", "product_id",
              "productid", "tdproductid", "@id", "@zupid", "zupid", "article_id", "ordernumber")
# control characters, and the bidi controls that reorder what a terminal shows
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e"
                      "\u2066-\u2069]")
MAX_SAME_WARNINGS = 20


@dataclass
class FeedPreview:
    """What `ef preview` shows; `as_dict()` is its `--json` form."""

    source: str
    format: str
    encoding: str | None = None
    dialect: dict[str, Any] | None = None
    record_path: str | None = None
    columns: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[RecordProblem] = field(default_factory=list)
    bytes_fetched: int = 0
    compression: str | None = None
    is_html: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": self.format, "encoding": self.encoding}
        if self.format == "csv":
            out["dialect"] = self.dialect
        else:
            out["record_path"] = self.record_path
        out.update({
            "columns": self.columns,
            "records": self.records,
            "warnings": [w.as_dict() for w in self.warnings],
            "source": self.source,
            "compression": self.compression,
            "bytes_fetched": self.bytes_fetched,
        })
        return out


def preview_feed(feed: Any, workspace_root: Path, rows: int = 100, *,
                 max_bytes: int | None = None, transport: Any = None) -> FeedPreview:
    """Preview `feed`, reading only the bytes its first `rows` records need.

    Raises FeedUnreachable (exit 4) and FeedError (exit 2) like a run would; an HTML page
    comes back as a preview with format "html" and the reason as its warning."""
    with open_feed_stream(feed, workspace_root, max_bytes=max_bytes,
                          transport=transport) as stream:
        replay = Rewindable(stream)
        try:
            detection = detect_stream(replay, feed, source=f"feed '{feed.name}'")
        except HtmlPageError as exc:
            return FeedPreview(stream.source, "html", is_html=True,
                               warnings=[RecordProblem(None, None, str(exc))],
                               bytes_fetched=stream.bytes_fetched,
                               compression=stream.compression)
        replay.rewind()
        spec = detection.spec
        reader = get_reader(spec.format)
        generator = reader.iter_rows(replay, spec)
        try:
            sample: list[Row] = list(islice(generator, max(0, rows)))
        finally:
            generator.close()
        fetched = stream.bytes_fetched
    records = [row.record for row in sample]
    columns = list(spec.columns) if spec.columns else _keys_in_order(records)
    warnings = list(detection.notes)
    for row in sample:
        warnings.extend(row.problems or ())
    warnings += sample_warnings(sample, columns)
    if spec.format == "csv" and len(columns) == 1 and feed.csv.delimiter == "auto":
        warnings.append(RecordProblem(None, None, "only one column detected: if the feed "
                                      "uses another separator, set csv.delimiter"))
    return FeedPreview(stream.source, spec.format, spec.encoding, spec.dialect,
                       spec.record_path, columns, records, warnings, fetched,
                       stream.compression)


def _keys_in_order(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            seen.setdefault(key, None)
    return list(seen)


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not value
    return False


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def sample_warnings(sample: list[Row], columns: list[str]) -> list[RecordProblem]:
    """Empty columns, control characters and duplicate ids among the previewed records."""
    warnings: list[RecordProblem] = []
    if not sample:
        return warnings
    for column in columns:
        if all(_is_empty(row.record.get(column)) for row in sample):
            warnings.append(RecordProblem(None, column, f"empty in all {len(sample)} "
                                          "previewed records"))
    control = 0
    for row in sample:
        for column, value in row.record.items():
            if any(_CONTROL.search(text) for text in _strings(value)):
                control += 1
                if control <= MAX_SAME_WARNINGS:
                    warnings.append(RecordProblem(row.ordinal, column, "control characters "
                                                  "(shown escaped)"))
    if control > MAX_SAME_WARNINGS:
        warnings.append(RecordProblem(None, None, f"{control - MAX_SAME_WARNINGS} more values "
                                      "with control characters"))
    warnings += _duplicate_ids(sample, columns)
    return warnings


def id_column(columns: list[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for name in ID_COLUMNS:
        if name in lowered:
            return lowered[name]
    return None


def _duplicate_ids(sample: list[Row], columns: list[str]) -> list[RecordProblem]:
    column = id_column(columns)
    if column is None:
        return []
    where: dict[str, list[int]] = defaultdict(list)
    for row in sample:
        value = row.record.get(column)
        if isinstance(value, (str, int, float)) and str(value).strip():
            where[str(value).strip()].append(row.ordinal)
    warnings = []
    for value, ordinals in where.items():
        if len(ordinals) > 1:
            listed = ", ".join(str(n) for n in ordinals[:10])
            warnings.append(RecordProblem(ordinals[1], column, f"id '{value[:80]}' appears in "
                                          f"{len(ordinals)} records ({listed})"))
    return warnings[:MAX_SAME_WARNINGS]
