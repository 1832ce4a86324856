"""Feeds: fetching, one reader per format (csv, xml, json), detection, preview.

The public API (see `api.py` and `fetch.py`): `fetch_feed`, `fetched`, `detect_spec`,
`plan_chunks`, `read_chunk`, `stream_chunk`, `iter_records`, `preview_feed` and the plain data
types in `contracts.py`. Functions are imported on first use, so importing this package stays cheap
(httpx and lxml load only when a feed is fetched or an XML feed is read).
"""

from __future__ import annotations

import importlib
from typing import Any

from elementafeeds.feeds.contracts import (
    ChunkRead,
    ChunkStream,
    ChunkTask,
    FeedSpec,
    FetchResult,
    RecordProblem,
    Row,
)

_LAZY = {
    "fetch_feed": "elementafeeds.feeds.fetch",
    "fetched": "elementafeeds.feeds.fetch",
    "open_feed_stream": "elementafeeds.feeds.fetch",
    "detect": "elementafeeds.feeds.api",
    "detect_spec": "elementafeeds.feeds.api",
    "plan_chunks": "elementafeeds.feeds.api",
    "CAREFUL": "elementafeeds.feeds.csv_scan",
    "Guess": "elementafeeds.feeds.csv_scan",
    "read_chunk": "elementafeeds.feeds.api",
    "stream_chunk": "elementafeeds.feeds.api",
    "iter_records": "elementafeeds.feeds.api",
    "iter_rows": "elementafeeds.feeds.api",
    "preview_feed": "elementafeeds.feeds.preview",
    "FeedPreview": "elementafeeds.feeds.preview",
}

__all__ = ["CAREFUL", "ChunkRead", "ChunkStream", "ChunkTask", "FeedPreview", "FeedSpec",
           "FetchResult", "Guess", "RecordProblem", "Row", "detect", "detect_spec", "fetch_feed",
           "fetched", "iter_records", "iter_rows", "open_feed_stream", "plan_chunks",
           "preview_feed", "read_chunk", "stream_chunk"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'elementafeeds.feeds' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
