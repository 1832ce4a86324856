"""Make a feed local: a path in the workspace, or an http(s) URL streamed to a temporary file.

Remote feeds stream through httpx (feeds.http_fetch, imported only for them) with a
connect/read timeout AND an overall deadline (a watchdog shuts the socket down when it passes,
so a server that drips a byte a minute cannot hold a run for hours), a size limit on the raw
and the decompressed bytes, a bounded number of redirects and conditional GET (ETag /
Last-Modified, remembered by the caller). Compression is recognised from the content and
undone on the way to disk, bounded against bombs.

`open_feed_stream` is the same path without a temporary file, for `ef preview`: the caller
reads only what it needs and closing the stream ends the download.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from elementafeeds.errors import FeedUnreachable, HostileFeedError
from elementafeeds.feeds.contracts import FetchResult
from elementafeeds.feeds.decompress import (
    Limits,
    copy_to,
    human_bytes,
    open_decompressed,
    open_zip_member,
    sniff_compression,
)
from elementafeeds.feeds.streams import PrefixedStream, read_upto

if TYPE_CHECKING:
    import httpx

def display_url(url: str) -> str:
    """The URL as shown in messages: no query, no credentials (both often hold secrets)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return f"{parts.scheme}://{host}{parts.path}"
    return url


def is_remote(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def feed_limits(feed: Any, max_bytes: int | None) -> Limits:
    limit = feed.limits.max_bytes if max_bytes is None else min(max_bytes, feed.limits.max_bytes)
    return Limits(max_bytes=limit)


def local_path(feed: Any, workspace_root: Path) -> Path:
    url = feed.url
    if url.lower().startswith("file://"):
        url = urlsplit(url).path
    path = Path(os.path.expanduser(url))
    if not path.is_absolute():
        path = workspace_root / path
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise FeedUnreachable(f"feed '{feed.name}': {path} {what}",
                              hint="check the feed's url (a path is relative to the workspace)")
    return path


def _temp_file(work_dir: Path, feed: Any) -> tuple[BinaryIO, Path]:
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=work_dir, prefix=f"feed-{feed.name}-", suffix=".data")
    return os.fdopen(fd, "wb"), Path(name)


def _write_temp(reader: Any, work_dir: Path, feed: Any) -> tuple[Path, int]:
    """Copy `reader` into a new temporary file; remove the file on any failure."""
    handle, path = _temp_file(work_dir, feed)
    try:
        with handle:
            size = copy_to(reader, handle)
        return path, size
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _unpack_to_temp(raw: Any, kind: str | None, limits: Limits, work_dir: Path,
                    feed: Any) -> tuple[Path, int]:
    """The decompressed feed in a temporary file. A zip is downloaded whole first: only its
    central directory (at the end) tells which members it really holds."""
    if kind != "zip":
        return _write_temp(open_decompressed(raw, kind, limits), work_dir, feed)
    zip_path, _ = _write_temp(raw, work_dir, feed)
    try:
        with closing(open_zip_member(zip_path, limits)) as member:
            return _write_temp(member, work_dir, feed)
    finally:
        zip_path.unlink(missing_ok=True)


def _local_validators(path: Path) -> tuple[str, str]:
    st = path.stat()
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"', formatdate(st.st_mtime, usegmt=True)


def fetch_feed(feed: Any, workspace_root: Path, work_dir: Path, *, etag: str | None = None,
               last_modified: str | None = None, max_bytes: int | None = None,
               transport: httpx.BaseTransport | None = None) -> FetchResult:
    """Make the feed a local, decompressed file (see the module docstring).

    A local, uncompressed feed is returned in place (`temporary=False`); a local one gets
    validators from its size and mtime, so an unchanged file is skipped like a 304.
    """
    limits = feed_limits(feed, max_bytes)
    if not is_remote(feed.url):
        return _fetch_local(feed, workspace_root, work_dir, limits, etag)
    from elementafeeds.feeds.http_fetch import guarded, open_http

    with open_http(feed, limits=limits, etag=etag, last_modified=last_modified,
                   transport=transport) as stream:
        headers = stream.response.headers
        new_etag = headers.get("etag") or (etag if stream.response.status_code == 304 else None)
        new_modified = headers.get("last-modified") or (
            last_modified if stream.response.status_code == 304 else None)
        if stream.response.status_code == 304:
            return FetchResult(None, True, new_etag, new_modified, stream.bytes_fetched, 0, False)
        raw = guarded(stream, limits)
        head = read_upto(raw, 8)
        kind = sniff_compression(head)
        path, size = _unpack_to_temp(PrefixedStream(head, raw), kind, limits, work_dir, feed)
        return FetchResult(path, False, new_etag, new_modified, stream.bytes_fetched, size,
                           True, kind)


def _fetch_local(feed: Any, root: Path, work_dir: Path, limits: Limits,
                 etag: str | None) -> FetchResult:
    path = local_path(feed, root)
    size = path.stat().st_size
    local_etag, modified = _local_validators(path)
    if etag is not None and etag == local_etag:
        return FetchResult(None, True, local_etag, modified, 0, 0, False)
    if size > limits.max_bytes:
        raise HostileFeedError(
            f"feed '{feed.name}': {path} is {human_bytes(size)}, over the limit of "
            f"{human_bytes(limits.max_bytes)}", hint="raise the feed's limits.max_bytes")
    try:
        with path.open("rb") as raw:
            kind = sniff_compression(raw.read(8))
            if kind is None:
                return FetchResult(path, False, local_etag, modified, size, size, False)
            raw.seek(0)
            if kind == "zip":
                with closing(open_zip_member(path, limits)) as member:
                    out, produced = _write_temp(member, work_dir, feed)
            else:
                out, produced = _unpack_to_temp(raw, kind, limits, work_dir, feed)
    except OSError as exc:
        raise FeedUnreachable(f"feed '{feed.name}': cannot read {path} ({exc.strerror})") from exc
    return FetchResult(out, False, local_etag, modified, size, produced, True, kind)


@contextmanager
def fetched(feed: Any, workspace_root: Path, work_dir: Path, **kw: Any) -> Iterator[FetchResult]:
    """`fetch_feed` whose temporary file is removed however the block ends."""
    result = fetch_feed(feed, workspace_root, work_dir, **kw)
    try:
        yield result
    finally:
        if result.temporary and result.path is not None:
            result.path.unlink(missing_ok=True)


@dataclass
class FeedStream:
    """A decompressed feed as a stream (for previews), with what it cost to get."""

    reader: Any
    source: str
    compression: str | None
    _counter: Any

    def read(self, size: int = -1) -> bytes:
        return self.reader.read(size)

    @property
    def bytes_fetched(self) -> int:
        return self._counter()


@contextmanager
def open_feed_stream(feed: Any, workspace_root: Path, *, max_bytes: int | None = None,
                     transport: httpx.BaseTransport | None = None) -> Iterator[FeedStream]:
    """The feed's decompressed bytes as a stream; leaving the block stops the download."""
    limits = feed_limits(feed, max_bytes)
    if is_remote(feed.url):
        from elementafeeds.feeds.http_fetch import guarded, open_http, preview_transport

        transport = transport or preview_transport()
        with open_http(feed, limits=limits, transport=transport) as http:
            raw = guarded(http, limits)
            head = read_upto(raw, 8)
            kind = sniff_compression(head)
            reader = open_decompressed(PrefixedStream(head, raw), kind, limits)  # type: ignore[arg-type]
            yield FeedStream(reader, display_url(feed.url), kind, lambda: http.bytes_fetched)
        return
    path = local_path(feed, workspace_root)
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise FeedUnreachable(f"feed '{feed.name}': cannot read {path} ({exc.strerror})") from exc
    with raw:
        kind = sniff_compression(raw.read(8))
        raw.seek(0)
        reader = open_decompressed(raw, kind, limits, path if kind == "zip" else None)
        try:
            yield FeedStream(reader, str(path), kind, raw.tell)
        finally:
            if kind == "zip":
                reader.close()
