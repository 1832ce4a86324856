"""One WordPress site's REST session: application password (HTTP Basic), the gate, retries.

Like `WooClient`, every request holds a gate slot for exactly its own duration. Answers are
classified by `http.check_response`; 401/403 get a WordPress hint instead of WooCommerce's.
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

API_PREFIX = "/wp-json/"


def wp_auth_hint(status: int | None, code: str | None) -> str:
    if status == 403 or (code or "").startswith("rest_cannot") or code == "rest_forbidden":
        return ("the user lacks the capability: use an application password of an Editor or "
                "Administrator (a Subscriber or Contributor cannot publish or edit posts)")
    return ("check the site's username and application_password (Users → Profile → "
            "Application Passwords); over plain http WordPress may refuse application "
            "passwords unless the site allows it")


class WPClient:
    """The HTTP half of a WordPress destination. Open with `await client.open()`."""

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
        return f"WPClient({self.site.name!r})"

    async def open(self) -> None:
        if self.site.is_embedded_sandbox:
            raise SiteError(
                f"site {self.site.name}: sandbox://local must be started and given a real URL "
                "before it is contacted", hint="start it with `ef sandbox` or through `ef run`",
            )
        creds = dict(self._credentials) if self._credentials is not None else resolve_all(
            self.site.credentials, f"site {self.site.name} credentials"
        )
        user, password = creds.get("username"), creds.get("application_password")
        if not user or not password:
            missing = [n for n, v in (("username", user), ("application_password", password))
                       if not v]
            raise SiteError(
                f"site {self.site.name}: no {' or '.join(missing)} in its credentials",
                hint="give the site username and application_password as ${ENV_VAR} "
                "references (WordPress → Users → Profile → Application Passwords)",
            )
        self.scrub = Scrubber(creds.values())
        limits = self.site.limits
        self._http = make_client(
            self.site.url + API_PREFIX, httpx.BasicAuth(user, password),
            timeout_s=limits.timeout_s, max_connections=limits.concurrency + 2,
            transport=self._transport,
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the WordPress client is not open (use `async with`)")
        return self._http

    async def send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                   json: Any = None, kind: str = "read", size: int = 1,
                   gated: bool = True) -> tuple[Any, httpx.Headers]:
        """One attempt, no retry: (parsed body, headers) or a classified SiteError."""
        what = f"{method} /wp-json/{path.split('?', 1)[0]}"
        if not gated:
            return await self._send(method, path, params, json, what)
        async with self.gate.slot(kind, size):
            return await self._send(method, path, params, json, what)

    async def _send(self, method: str, path: str, params: Mapping[str, Any] | None,
                    json: Any, what: str) -> tuple[Any, httpx.Headers]:
        deadline = self.site.limits.timeout_s * 2 + 5
        try:
            async with asyncio.timeout(deadline):
                response = await self.http.request(method, path, params=params, json=json)
        except TimeoutError:
            raise AmbiguousSiteError(
                f"site {self.site.name}: {what} exceeded its {deadline:.0f}s deadline",
                code="site_timeout",
            ) from None
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, what, site=self.site.name) from exc
        try:
            body = check_response(response, what, site=self.site.name, scrub=self.scrub,
                                  mode="basic")
        except SiteError as exc:
            if exc.status in (401, 403) and not isinstance(exc, RetriableSiteError):
                exc.hint = wp_auth_hint(exc.status, exc.code)
            elif exc.status == 404 and exc.code in ("rest_no_route", "http_404"):
                exc.hint = ("is the post type shown in REST (show_in_rest) under this REST "
                            "base, are pretty permalinks on, and is the url the site's home "
                            "URL (no /wp-json)?")
            raise
        return body, response.headers

    async def get(self, path: str, params: Mapping[str, Any] | None = None,
                  *, kind: str = "read") -> tuple[Any, httpx.Headers]:
        return await self.retry.call(
            lambda: self.send("GET", path, params=params, kind=kind), what=f"GET {path}"
        )

    async def pages(self, path: str, params: Mapping[str, Any], *, per_page: int = 100
                    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a collection; a 400 `rest_post_invalid_page_number` is the end."""
        per_page = max(1, min(100, per_page))
        page = 1
        while True:
            try:
                rows, headers = await self.get(path, {**params, "per_page": per_page,
                                                      "page": page})
            except SiteError as exc:
                if exc.code == "rest_post_invalid_page_number":
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

    async def probe(self) -> None:
        await self.send("GET", "wp/v2/users/me", params={"_fields": "id"}, gated=False)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
