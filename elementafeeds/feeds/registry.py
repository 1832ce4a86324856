"""Reader plugins, loaded lazily through the `elementafeeds.readers` entry-point group.

Nothing is imported until a format is asked for, so `ef --help` stays fast. The built-in
readers are declared as entry points in pyproject.toml like any third-party one; the fallback
table below only serves a source checkout that was never installed.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from elementafeeds.errors import FeedError
from elementafeeds.feeds.contracts import FeedReader

GROUP = "elementafeeds.readers"
_BUILTIN = {
    "csv": "elementafeeds.feeds.csv_reader:CsvReader",
    "xml": "elementafeeds.feeds.xml_reader:XmlReader",
    "json": "elementafeeds.feeds.json_reader:JsonReader",
}
_readers: dict[str, FeedReader] = {}
_declared: dict[str, Any] | None = None


def _entry_points() -> dict[str, Any]:
    global _declared
    if _declared is None:
        _declared = {ep.name: ep for ep in entry_points(group=GROUP)}
    return _declared


def available_formats() -> list[str]:
    return sorted({*_entry_points(), *_BUILTIN})


def get_reader(fmt: str) -> FeedReader:
    """The reader instance for a format (one per process)."""
    reader = _readers.get(fmt)
    if reader is not None:
        return reader
    declared = _entry_points().get(fmt)
    if declared is not None:
        cls = declared.load()
    elif fmt in _BUILTIN:
        module, _, name = _BUILTIN[fmt].partition(":")
        cls = getattr(importlib.import_module(module), name)
    else:
        raise FeedError(f"no reader for the format '{fmt}'",
                        hint=f"known formats: {', '.join(available_formats())}")
    reader = cls()
    _readers[fmt] = reader
    return reader
