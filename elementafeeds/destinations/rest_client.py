"""One site's REST session, shared by every platform: credentials, the gate, the deadline,
retried reads, paging and answer classification.

Every request holds a gate slot for exactly its own duration, so the gate sees true in-flight
counts and latencies. Reads retry under the policy here; batch writes retry in the writers,
which must verify ambiguous creates between attempts. A platform says how it authenticates,
which API prefix it lives under and how it words its hints.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from elementafeeds.config.models import Site
from elementafeeds.config.secrets import resolve_all
from elementafeeds.destinations.gate import SiteGate
from elementafeeds.destinations.http import (
    AmbiguousSiteError,
    Scrubber,
    check_response,
    make_client,
    translate_transport_error,
)
from elementafeeds.destinations.retry import RetryPolicy
from elementafeeds.errors import RetriableSiteError, SiteError


class RestClient:
    """The HTTP half of a destination. Open with `await client.open()`."""

    API_PREFIX = "/wp-json/"
    PLATFORM = "site"
    END_OF_PAGES: frozenset[str] = frozenset()
    """Error codes that mean "past the last page" rather than a failure."""

    mode = "basic"

    def __init__(self, site: Site, gate: SiteGate, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 retry: RetryPolicy | None = None,
                 credentials: Mapping[str, str] | None = None) -> None:
        self.site = site
        self.gate = gate
        self.retry = retry or RetryPolicy()
        self._transport = transport
        self._credentials = credentials
        self._http: httpx.AsyncClient | None = None
        self.scrub = Scrubber()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.site.name!r}, auth={self.mode})"

    # --- what a platform says --------------------------------------------------------------

    def auth(self, creds: dict[str, str]) -> httpx.Auth:
        raise NotImplementedError

    def describe(self, method: str, path: str) -> str:
        """The request as it appears in messages (never with its query: it may be signed)."""
        return f"{method} {path.split('?', 1)[0]}"

    def explain(self, exc: SiteError) -> None:
        """Give a classified error the platform's hint, in place."""

    async def probe(self) -> None:
        """The breaker's probe: the cheapest authenticated read, outside the gate."""
        raise NotImplementedError

    # --- the session -------------------------------------------------------------------------

    async def open(self) -> None:
        if self.site.is_embedded_sandbox:
            raise SiteError(
                f"site {self.site.name}: sandbox://local must be started and given a real URL "
                "before it is contacted", hint="start it with `ef sandbox` or through `ef run`",
            )
        # Secrets are resolved only now, when the site is contacted, and live only in the
        # auth flow and the scrubber.
        creds = dict(self._credentials) if self._credentials is not None else resolve_all(
            self.site.credentials, f"site {self.site.name} credentials"
        )
        auth = self.auth(creds)
        self.scrub = Scrubber(creds.values())
        limits = self.site.limits
        self._http = make_client(
            self.site.url + self.API_PREFIX, auth, timeout_s=limits.timeout_s,
            max_connections=limits.concurrency + 2, transport=self._transport,
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError(f"the {self.PLATFORM} client is not open (use `async with`)")
        return self._http

    async def send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                   json: Any = None, kind: str = "read", size: int = 1,
                   gated: bool = True, content: bytes | None = None,
                   headers: Mapping[str, str] | None = None) -> tuple[Any, httpx.Headers]:
        """One attempt, no retry: (parsed body, headers) or a classified SiteError.
        `content` with `headers` sends a raw body (a media upload) instead of `json`."""
        what = self.describe(method, path)
        body = {"json": json, "content": content, "headers": headers}
        if not gated:
            return await self._send(method, path, params, body, what)
        async with self.gate.slot(kind, size):
            return await self._send(method, path, params, body, what)

    async def _send(self, method: str, path: str, params: Mapping[str, Any] | None,
                    body: dict[str, Any], what: str) -> tuple[Any, httpx.Headers]:
        # An overall deadline as well: a server trickling bytes never trips a read timeout.
        deadline = self.site.limits.timeout_s * 2 + 5
        try:
            async with asyncio.timeout(deadline):
                response = await self.http.request(method, path, params=params, **body)
        except TimeoutError:
            raise AmbiguousSiteError(
                f"site {self.site.name}: {what} exceeded its {deadline:.0f}s deadline",
                code="site_timeout",
            ) from None
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, what, site=self.site.name) from exc
        try:
            body = check_response(response, what, site=self.site.name, scrub=self.scrub,
                                  mode=self.mode)
        except SiteError as exc:
            self.explain(exc)
            raise
        return body, response.headers

    async def get(self, path: str, params: Mapping[str, Any] | None = None,
                  *, kind: str = "read") -> tuple[Any, httpx.Headers]:
        """A GET under the retry policy (reads are idempotent)."""
        return await self.retry.call(
            lambda: self.send("GET", path, params=params, kind=kind), what=f"GET {path}"
        )

    async def pages(self, path: str, params: Mapping[str, Any], *, per_page: int = 100
                    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a collection. Callers pass `orderby=id`: a real store's default
        order (date) skips and repeats rows created in the same second."""
        per_page = max(1, min(100, per_page))
        page = 1
        while True:
            try:
                rows, headers = await self.get(path, {**params, "per_page": per_page,
                                                      "page": page})
            except SiteError as exc:
                if exc.code in self.END_OF_PAGES:
                    return
                raise
            if not isinstance(rows, list):
                raise RetriableSiteError(
                    f"site {self.site.name}: GET {path} answered something other than a list",
                    code="invalid_json",
                )
            yield rows
            total_pages = _int(headers.get("X-WP-TotalPages"))
            if len(rows) < per_page or (total_pages is not None and page >= total_pages):
                return
            page += 1


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
