"""The HTTP side of fetching a feed: a streaming GET with a connect/read timeout AND an
overall deadline, a size limit and a bounded number of redirects (see feeds.fetch).

A module of its own so that httpx is imported only when a feed is downloaded: a run of a
local feed file does not pay for it (about 25 ms of every start, measured).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from elementafeeds import __version__
from elementafeeds.errors import FeedError, FeedUnreachable, HostileFeedError
from elementafeeds.feeds.decompress import GuardedReader, Limits, human_bytes
from elementafeeds.feeds.fetch import display_url

MAX_REDIRECTS = 5
CONNECT_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 60.0
CHUNK = 256 * 1024
PREVIEW_RECEIVE_BUFFER = 128 * 1024
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")


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


def guarded(stream: HttpStream, limits: Limits) -> GuardedReader:
    """The body as httpx hands it over: a `Content-Encoding: gzip` body is already inflated,
    so its size and ratio are bounded here, against the bytes that really came in."""
    return GuardedReader(stream, limits, lambda: stream.bytes_fetched)  # type: ignore[arg-type]


def preview_transport() -> httpx.BaseTransport | None:
    """A small receive window, so a server cannot push megabytes a preview never reads
    (None where a proxy is configured: httpx then picks its transport itself)."""
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    return httpx.HTTPTransport(socket_options=[
        (socket.SOL_SOCKET, socket.SO_RCVBUF, PREVIEW_RECEIVE_BUFFER)])
