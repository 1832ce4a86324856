"""One streaming pass over a feed's records, collecting what `ef map` suggests from.

Two costs are kept apart. Category paths are counted over every record read (or the first
`--sample N`): coverage is only honest over the whole feed, and counting one field per record
is cheap. Column statistics — sample values, how often a column is filled, distinct values of
attribute-like columns — come from the first `STATS_RECORDS` records only, because flattening
every field of 500 000 records would cost minutes and adds nothing to a column's verdict.

When the connection names no category source, the first `SNIFF_RECORDS` records are buffered,
a source column and its delimiter are picked from them, and the buffer is replayed in front of
the rest of the stream, so nothing is read twice.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from elementafeeds.config.models import Categories
from elementafeeds.rules.categories import CategoryMatcher, split_path
from elementafeeds.rules.paths import compile_path, to_text

SNIFF_RECORDS = 200
STATS_RECORDS = 2000
MAX_PATH_SETS = 100_000
"""Distinct category values tracked; past this, records are counted as `untracked`."""
MAX_VALUES = 300
MAX_COLUMNS = 500
SAMPLES = 5
_TEXT_KEYS = ("#text", "_text", "text", "value", "$")

CATEGORY_COLUMNS = (
    "merchant_category", "category_path", "categorypath", "merchantcategoryname",
    "g:product_type", "product_type", "categories", "category", "merchantcategory",
    "product_category", "categoryname", "g:google_product_category", "google_product_category",
)
"""Known category columns (compared without case), most specific first."""
DELIMITERS = (" > ", " >> ", ">", " / ", " | ", "|", " - ", "/")
"""Path delimiters tried on the sniffed values, in order; the first common one wins."""


@dataclass
class ColumnStats:
    """What the first records say about one column."""

    name: str
    filled: int = 0
    samples: list[str] = field(default_factory=list)
    values: Counter[str] = field(default_factory=Counter)
    overflow: bool = False
    """More distinct values than MAX_VALUES: not a list of attribute terms."""

    def add(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        self.filled += 1
        if len(self.samples) < SAMPLES and text not in self.samples:
            self.samples.append(text[:200])
        if self.overflow:
            return
        if text in self.values or len(self.values) < MAX_VALUES:
            self.values[text[:200]] += 1
        else:
            self.overflow = True


@dataclass
class FeedScan:
    """The result of one pass: columns, their statistics and the category path counts."""

    records: int = 0
    stats_records: int = 0
    columns: list[str] = field(default_factory=list)
    stats: dict[str, ColumnStats] = field(default_factory=dict)
    category_source: str | None = None
    delimiter: str = " > "
    source_suggested: bool = False
    delimiter_suggested: bool = False
    path_sets: Counter[tuple[str, ...]] = field(default_factory=Counter)
    """Per record, its category paths (levels joined by the delimiter) → records."""
    untracked: int = 0
    sampled: bool = False
    """Reading stopped at `--sample N` records."""

    def path_counts(self) -> Counter[str]:
        """Records per distinct source path (a record with two paths counts for both)."""
        counts: Counter[str] = Counter()
        for paths, n in self.path_sets.items():
            for path in paths:
                counts[path] += n
        return counts


def scan_records(records: Iterable[dict[str, Any]], categories: Categories, *,
                 sample: int | None = None, columns: Sequence[str] | None = None) -> FeedScan:
    """Read `records` once (at most `sample` of them) and collect a FeedScan."""
    scan = FeedScan(columns=list(columns or [])[:MAX_COLUMNS])
    for name in scan.columns:
        scan.stats[name] = ColumnStats(name)
    stream: Iterator[dict[str, Any]] = iter(records)
    if sample is not None:
        stream = itertools.islice(stream, max(sample, 0))
    config = categories
    if not categories.source:
        head = list(itertools.islice(stream, SNIFF_RECORDS))
        config = _sniff_source(head, categories, scan)
        stream = itertools.chain(head, stream)
    scan.category_source = config.source
    scan.delimiter = config.delimiter
    matcher = CategoryMatcher(config) if config.source else None
    raw_counts: Counter[Any] = Counter()
    for record in stream:
        scan.records += 1
        if scan.records <= STATS_RECORDS:
            _collect(record, scan)
        if matcher is None:
            continue
        value = matcher.get(record) if matcher.get else None
        key: Any = value if value.__class__ is str else tuple(matcher.sources(record))
        if key in raw_counts or len(raw_counts) < MAX_PATH_SETS:
            raw_counts[key] += 1
        else:
            scan.untracked += 1
    scan.stats_records = min(scan.records, STATS_RECORDS)
    scan.sampled = sample is not None and scan.records >= sample
    for key, n in raw_counts.items():
        texts = [key] if isinstance(key, str) else list(key)
        paths = tuple(dict.fromkeys(p for p in (_display(t, scan.delimiter) for t in texts) if p))
        scan.path_sets[paths] += n
    return scan


def _display(text: str, delimiter: str) -> str:
    return delimiter.join(split_path(text, delimiter)) if text.strip() else ""


def _collect(record: dict[str, Any], scan: FeedScan) -> None:
    for path, value in _leaves(record, "", 0):
        stats = scan.stats.get(path)
        if stats is None:
            if len(scan.columns) >= MAX_COLUMNS:
                continue
            stats = scan.stats[path] = ColumnStats(path)
            scan.columns.append(path)
        stats.add(to_text(value))


def _leaves(record: dict[str, Any], prefix: str, depth: int) -> Iterator[tuple[str, Any]]:
    """(path, value) of every leaf, as `paths.py` would address it: nested dicts by `a.b`,
    lists of dicts walked into (paths map over lists), XML text nodes as leaves."""
    for key, value in record.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if depth < 2 and isinstance(value, dict) and not _is_text_node(value):
            yield from _leaves(value, path, depth + 1)
        elif (depth < 2 and isinstance(value, list) and value
              and all(isinstance(v, dict) and not _is_text_node(v) for v in value)):
            for item in value[:3]:
                yield from _leaves(item, path, depth + 1)
        else:
            yield path, value


def _is_text_node(value: dict[str, Any]) -> bool:
    return any(k in value for k in _TEXT_KEYS)


def _sniff_source(head: list[dict[str, Any]], categories: Categories,
                  scan: FeedScan) -> Categories:
    """The connection's categories with a source column (and delimiter) picked from `head`."""
    probe = FeedScan(columns=list(scan.columns))
    probe.stats = {c: ColumnStats(c) for c in probe.columns}
    for record in head:
        _collect(record, probe)
    if not head:
        return categories
    by_name = {c.casefold(): c for c in probe.columns}
    source = next((by_name[k] for k in CATEGORY_COLUMNS
                   if k in by_name and probe.stats[by_name[k]].filled), None)
    if source is None:
        loose = [c for c in probe.columns if re.search(r"categor|product_?type", c, re.IGNORECASE)
                 and probe.stats[c].filled >= len(head) / 2]
        source = loose[0] if loose else None
    if source is None:
        return categories
    scan.source_suggested = True
    data = categories.model_dump()
    data["source"] = source
    get = compile_path(source)
    values = [v for v in (to_text(get(r)) for r in head) if v.strip()]
    delimiter = _sniff_delimiter(values)
    if delimiter is not None and "delimiter" not in categories.model_fields_set:
        data["delimiter"] = delimiter
        scan.delimiter_suggested = delimiter != categories.delimiter
    return Categories.model_validate(data)


def _sniff_delimiter(values: list[str]) -> str | None:
    if not values:
        return None
    for delimiter in DELIMITERS:
        hits = sum(1 for v in values if delimiter in v.strip())
        if hits >= max(1, len(values) // 5):
            return delimiter
    return None
