"""Featured images by URL, where the site allows it.

WordPress REST has no "featured image by URL" (WooCommerce sideloads `images[].src`; WP-Posts
only takes an attachment id), so the client downloads the image itself and uploads it with
`POST /wp/v2/media` (raw body, `Content-Disposition: attachment; filename=…`), then sends the
attachment id as `featured_media`.

The download runs on its own HTTP client, without the site's credentials: the image host is
a third party named by the feed. Only http/https, an `image/*` answer, at most `max_bytes`
(checked while streaming, so a lying Content-Length cannot fill memory) and a deadline. The
feed is hostile: a URL (or a redirect, followed by hand for that reason) whose host resolves to
a loopback, link-local, private or reserved address is refused, so a feed cannot make `ef`
fetch from the network it runs in — unless the site itself is on that kind of address (a
sandbox on loopback, an intranet site on a private network; link-local cloud metadata stays
out of reach of both). The check resolves the name before the request; a DNS server that
answers differently the second time is not covered.

Whatever goes wrong becomes a warning naming the URL, and the post is written without its
image: a dead image link must not keep a product off the site. A site that refuses uploads
(`rest_cannot_create`: a user without `upload_files`; 404: the route is hidden) is not asked
again in this run. Each URL is fetched and uploaded once per run; later runs send images only
when their field group's hash changed, so they do not upload the same image again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import mimetypes
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from elementafeeds.destinations.gate import CircuitOpenError
from elementafeeds.destinations.http import USER_AGENT, AmbiguousSiteError
from elementafeeds.destinations.wordpress.client import WPClient
from elementafeeds.errors import SiteError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TIMEOUT_S = 30.0
MAX_REDIRECTS = 5
DOWNLOADS = 4
"""Images in flight at once (each downloaded, then uploaded): bounds memory to 4 × max_bytes."""
REFUSALS = frozenset({"rest_cannot_create", "rest_forbidden", "rest_no_route", "http_404"})
UPLOAD_HINT = ("the user needs the upload_files capability (Author, Editor or Administrator) "
               "and /wp/v2/media must not be blocked")


class ImageUnavailable(Exception):
    """The image could not be fetched from its host (the text says why). `transient`: the
    host may answer next time (a timeout, a 5xx), so the next run tries again."""

    def __init__(self, reason: str, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


class FeaturedImages:
    """URL → attachment id, fetched and uploaded at most once per run (per instance)."""

    def __init__(self, client: WPClient, *, site_url: str, max_bytes: int = MAX_IMAGE_BYTES,
                 timeout_s: float = IMAGE_TIMEOUT_S) -> None:
        self._client = client
        self._site_host = urlsplit(site_url).hostname or ""
        self._site_kinds: set[str] | None = None
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._done: dict[str, asyncio.Future[int | str]] = {}
        self.retry_later: set[str] = set()
        """URLs that failed for a passing reason in this run (see ImageUnavailable)."""
        self._refused: str | None = None
        self._allowed = False
        self._probe = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(DOWNLOADS)

    async def close(self) -> None:
        pending = [f for f in self._done.values() if not f.done()]
        for future in pending:  # a write that raised may leave uploads behind
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def media_id(self, url: str) -> tuple[int | None, str | None]:
        """(attachment id, None), or (None, a warning naming the URL)."""
        future = self._done.get(url)
        if future is None:
            future = self._done[url] = asyncio.ensure_future(self._attach(url))
        outcome = await asyncio.shield(future)
        return (outcome, None) if isinstance(outcome, int) else (None, outcome)

    async def _attach(self, url: str) -> int | str:
        async with self._slots:  # download and upload: at most DOWNLOADS images in memory
            return await self._fetch_and_upload(url)

    async def _fetch_and_upload(self, url: str) -> int | str:
        if self._refused:
            return self._refusal(url)
        try:
            data, mime = await self._download(url)
        except ImageUnavailable as exc:
            if exc.transient:
                self.retry_later.add(url)
            return f"featured image {url} could not be downloaded ({exc}); post written without it"
        try:
            media = await self._upload_where_allowed(data, mime, filename(url, mime))
        except CircuitOpenError:
            raise
        except SiteError as exc:
            if exc.code in REFUSALS or exc.status in (401, 403):
                self._refused = f"{exc.status} {exc.code}"
                return self._refusal(url)
            self.retry_later.add(url)
            return (f"featured image {url} was not uploaded ({exc.message}); post written "
                    "without it")
        return self._refusal(url) if media is None else media

    def _refusal(self, url: str) -> str:
        return (f"featured image {url} not set: the site refuses media uploads "
                f"({self._refused}; {UPLOAD_HINT}); post written without it")

    # -- from the image host -------------------------------------------------------------------

    def _image_client(self) -> httpx.AsyncClient:
        if self._http is None:  # never the site's client: no credentials for image hosts
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout_s, connect=min(self._timeout_s, 10.0)),
                follow_redirects=False,  # each hop is checked by _stream
                headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
        return self._http

    async def _download(self, url: str) -> tuple[bytes, str]:
        try:
            parts = urlsplit(url)
            usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        except ValueError:
            usable = False
        if not usable:
            raise ImageUnavailable("not an http(s) URL")
        try:
            async with asyncio.timeout(self._timeout_s * 2):  # a trickling host too
                return await self._stream(url)
        except TimeoutError:
            raise ImageUnavailable("timed out", transient=True) from None
        except httpx.InvalidURL as exc:
            raise ImageUnavailable(type(exc).__name__) from None
        except httpx.HTTPError as exc:  # refused, reset, timed out: the host may recover
            raise ImageUnavailable(type(exc).__name__, transient=True) from None

    async def _stream(self, url: str) -> tuple[bytes, str]:
        for _ in range(MAX_REDIRECTS + 1):
            await self._refuse_inner_network(url)
            async with self._image_client().stream("GET", url) as response:
                location = response.headers.get("Location")
                if response.is_redirect and location:
                    url = str(response.url.join(location))
                    if urlsplit(url).scheme.lower() not in ("http", "https"):
                        raise ImageUnavailable("redirected to a URL that is not http(s)")
                    continue
                return await self._body(response)
        raise ImageUnavailable(f"more than {MAX_REDIRECTS} redirects")

    async def _refuse_inner_network(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        if self._site_kinds is None:
            try:
                self._site_kinds = {_kind(ip) for ip in await _addresses(self._site_host)}
            except ImageUnavailable:
                self._site_kinds = set()
        for ip in await _addresses(host):
            kind = _kind(ip)
            if kind != "public" and kind not in self._site_kinds:
                raise ImageUnavailable(f"{host} is a non-public address ({ip}, {kind}); a "
                                       "feed may not make ef fetch from its own network")

    async def _body(self, response: httpx.Response) -> tuple[bytes, str]:
        if response.status_code != 200:
            raise ImageUnavailable(f"answered {response.status_code}",
                                   transient=response.status_code in (408, 429)
                                   or response.status_code >= 500)
        mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not mime.startswith("image/"):
            raise ImageUnavailable(f"not an image: {mime or 'no Content-Type'}")
        if mime.startswith("image/svg"):  # a document that can carry scripts, not a picture
            raise ImageUnavailable("an SVG image, which can carry scripts; not uploaded")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise ImageUnavailable(f"larger than {self._max_bytes} bytes")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise ImageUnavailable(f"larger than {self._max_bytes} bytes")
            chunks.append(chunk)
        if not size:
            raise ImageUnavailable("empty answer")
        return b"".join(chunks), mime

    # -- to the site ---------------------------------------------------------------------------

    async def _upload_where_allowed(self, data: bytes, mime: str, name: str) -> int | None:
        """The attachment id, or None once the site has refused uploads. Until one upload
        went through they go one at a time, so a refusing site is asked once."""
        if self._allowed:
            return await self._upload(data, mime, name)
        async with self._probe:
            if self._refused:
                return None
            media = await self._upload(data, mime, name)
            self._allowed = True
            return media

    async def _upload(self, data: bytes, mime: str, name: str) -> int:
        headers = {"Content-Type": mime, "Content-Disposition": f'attachment; filename="{name}"'}

        async def once() -> Any:
            try:
                body, _ = await self._client.send("POST", "wp/v2/media", content=data,
                                                  headers=headers, kind="media")
            except AmbiguousSiteError as exc:
                # It may have landed: repeating it would leave a copy in the media library.
                raise SiteError(exc.message, status=exc.status, code=exc.code) from exc
            return body

        body = await self._client.retry.call(once, what="POST wp/v2/media")
        media = body.get("id") if isinstance(body, dict) else None
        if not isinstance(media, int) or media <= 0:
            raise SiteError("POST /wp-json/wp/v2/media answered without an attachment id",
                            code="invalid_media_answer")
        return media


async def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses a host name (or literal) stands for; ImageUnavailable when unknown."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError:
        raise ImageUnavailable(f"host {host} not found", transient=True) from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    return "public" if ip.is_global else "private"


def filename(url: str, mime: str) -> str:
    """A safe ASCII file name from the URL's last path segment, its extension fitting `mime`
    (WordPress refuses a file whose extension disagrees with its type)."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", name.rsplit(".", 1)[0]).strip("-")[:80] or "image"
    suffix = "." + name.rsplit(".", 1)[1].lower() if "." in name else ""
    if suffix not in mimetypes.guess_all_extensions(mime):
        subtype = re.sub(r"[^a-z0-9]", "", mime.partition("/")[2].split("+")[0])
        suffix = mimetypes.guess_extension(mime) or f".{subtype or 'jpg'}"
    return stem + suffix


__all__ = ["MAX_IMAGE_BYTES", "FeaturedImages", "ImageUnavailable", "filename"]
