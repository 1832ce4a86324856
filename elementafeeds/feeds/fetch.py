"""Make a feed local: a path in the workspace, or an http(s) URL streamed to a temporary file.

Remote feeds stream through httpx with a connect/read timeout AND an overall deadline (a
watchdog shuts the socket down when it passes, so a server that drips a byte a minute cannot
hold a run for hours), a size limit on the raw and the decompressed bytes, a bounded number of
redirects and conditional GET (ETag / Last-Modified, remembered by the caller). Compression is
recognised from the content and undone on the way to disk, bounded against bombs.

`open_feed_stream` is the same path without a temporary file, for `ef preview`: the caller
reads only what it needs and closing the stream ends the download.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpx

from elementafeeds import __version__
from elementafeeds.errors import FeedError, FeedUnreachable, HostileFeedError
from elementafeeds.feeds.contracts import FetchResult
from elementafeeds.feeds.decompress import (
    GuardedReader,
    Limits,
    copy_to,
    human_bytes,
    open_decompressed,
    open_zip_member,
    sniff_compression,
)
from elementafeeds.feeds.streams import PrefixedStream, read_upto

MAX_REDIRECTS = 5
CONNECT_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 60.0
CHUNK = 256 * 1024
PREVIEW_RECEIVE_BUFFER = 128 * 1024
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")


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


@dataclass
class HttpStream:
    """The body of a response as a file-like object with the deadline and size enforced."""

    response: httpx.Response
    deadline: float
    limits: Limits
    what: str
    _buffer: bytes = b""
    _expired: bool = False
    _timer: threading.Timer | None = None
    _chunks: Iterator[bytes] = field(init=False)

    def __post_init__(self) -> None:
        self._chunks = self.response.iter_bytes(CHUNK)
        stream = self.response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            remaining = max(0.0, self.deadline - time.monotonic())
            self._timer = threading.Timer(remaining, self._expire, args=(sock,))
            self._timer.daemon = True
            self._timer.start()

    def _expire(self, sock: socket.socket) -> None:
        self._expired = True
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv(); close() would not
        except OSError:
            pass

    @property
    def bytes_fetched(self) -> int:
        return self.response.num_bytes_downloaded

    def read(self, size: int = -1) -> bytes:
        if not self._buffer:
            self._buffer = self._next_chunk()
        if size is None or size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _next_chunk(self) -> bytes:
        if time.monotonic() > self.deadline:
            self._expired = True
            raise self._deadline_error()
        try:
            chunk = next(self._chunks, b"")
        except httpx.HTTPError as exc:
            if self._expired:
                raise self._deadline_error() from exc
            if isinstance(exc, httpx.TimeoutException):
                raise FeedUnreachable(f"{self.what}: the server stopped sending data "
                                      f"after {human_bytes(self.bytes_fetched)}",
                                      hint="the feed's server is slow or stuck; try later") from exc
            raise FeedUnreachable(f"{self.what}: the download broke off after "
                                  f"{human_bytes(self.bytes_fetched)} ({type(exc).__name__})",
                                  hint="try again later") from exc
        if self._expired:
            raise self._deadline_error()
        if self.bytes_fetched > self.limits.max_bytes:
            raise HostileFeedError(
                f"{self.what}: the download is larger than {human_bytes(self.limits.max_bytes)}",
                hint="raise the feed's limits.max_bytes if it really is this large")
        return chunk

    def _deadline_error(self) -> FeedUnreachable:
        return FeedUnreachable(
            f"{self.what}: the download did not finish within the deadline "
            f"({human_bytes(self.bytes_fetched)} received)",
            hint="raise the feed's limits.timeout_s, or ask why the server is so slow")

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.response.close()


_STATUS_HINTS = {
    401: "the server wants credentials: check the feed's headers or the token in its url",
    403: "access refused: check the token in the feed's url or its headers",
    404: "check the feed's url; the network may have moved or retired the feed",
    410: "the feed is gone; ask the network for its new url",
    429: "the server is rate limiting; run less often or try later",
}


@contextmanager
def open_http(feed: Any, *, limits: Limits, etag: str | None = None,
              last_modified: str | None = None,
              transport: httpx.BaseTransport | None = None) -> Iterator[HttpStream]:
    """A streaming GET of the feed; raises FeedUnreachable for any failure to get a body."""
    from elementafeeds.config.secrets import resolve, resolve_all

    what = f"feed '{feed.name}' ({display_url(feed.url)})"
    total = float(feed.limits.timeout_s)
    deadline = time.monotonic() + total
    headers = {"User-Agent": f"ElementaFeeds/{__version__}", "Accept": "*/*"}
    headers.update(resolve_all(dict(feed.headers), f"feed '{feed.name}' headers"))
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = httpx.Timeout(connect=min(CONNECT_TIMEOUT_S, total), read=min(READ_TIMEOUT_S, total),
                            write=min(READ_TIMEOUT_S, total), pool=min(CONNECT_TIMEOUT_S, total))
    url = resolve(feed.url, f"feed '{feed.name}' url")
    client = httpx.Client(transport=transport, follow_redirects=True,
                          max_redirects=MAX_REDIRECTS, timeout=timeout)
    stream: HttpStream | None = None
    try:
        try:
            response = client.send(client.build_request("GET", url, headers=headers),
                                    stream=True)
        except httpx.TooManyRedirects as exc:
            raise FeedUnreachable(f"{what}: more than {MAX_REDIRECTS} redirects",
                                  hint="the url redirects in a loop; check it") from exc
        except httpx.TimeoutException as exc:
            raise FeedUnreachable(f"{what}: the server did not answer in time",
                                  hint="check the url, or raise limits.timeout_s") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FeedError(f"{what}: the url cannot be fetched ({exc})",
                            hint="a feed url starts with http:// or https://") from exc
        except httpx.HTTPError as exc:
            raise FeedUnreachable(f"{what}: cannot connect ({type(exc).__name__})",
                                  hint="check the host name and that the server is up") from exc
        stream = HttpStream(response, deadline, limits, what)
        status = response.status_code
        if status >= 400 or (300 <= status < 400 and status != 304):
            reason = response.reason_phrase or ""
            hint = _STATUS_HINTS.get(status) or (
                "the feed's server is failing; try later" if status >= 500 else None)
            raise FeedUnreachable(f"{what}: the server answered {status} {reason}".rstrip(),
                                  hint=hint)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limits.max_bytes:
            raise HostileFeedError(
                f"{what}: the server announces {human_bytes(int(length))}, over the limit of "
                f"{human_bytes(limits.max_bytes)}",
                hint="raise the feed's limits.max_bytes if it really is this large")
        yield stream
    finally:
        if stream is not None:
            stream.close()
        client.close()


def _guarded(stream: HttpStream, limits: Limits) -> GuardedReader:
    """The body as httpx hands it over: a `Content-Encoding: gzip` body is already inflated,
    so its size and ratio are bounded here, against the bytes that really came in."""
    return GuardedReader(stream, limits, lambda: stream.bytes_fetched)  # type: ignore[arg-type]


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
    with open_http(feed, limits=limits, etag=etag, last_modified=last_modified,
                   transport=transport) as stream:
        headers = stream.response.headers
        new_etag = headers.get("etag") or (etag if stream.response.status_code == 304 else None)
        new_modified = headers.get("last-modified") or (
            last_modified if stream.response.status_code == 304 else None)
        if stream.response.status_code == 304:
            return FetchResult(None, True, new_etag, new_modified, stream.bytes_fetched, 0, False)
        raw = _guarded(stream, limits)
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
        if transport is None and not any(os.environ.get(name) for name in PROXY_VARIABLES):
            # A small receive window: the server cannot push megabytes we will never read.
            transport = httpx.HTTPTransport(socket_options=[
                (socket.SOL_SOCKET, socket.SO_RCVBUF, PREVIEW_RECEIVE_BUFFER)])
        with open_http(feed, limits=limits, transport=transport) as http:
            raw = _guarded(http, limits)
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
