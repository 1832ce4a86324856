"""How requests to a WooCommerce site carry its keys: Basic, query keys, or OAuth 1.0a.

`auth: auto` (the default) picks HTTP Basic over https and OAuth 1.0a over plain http, because
WooCommerce only honours Basic and query keys when the server itself sees https; over http the
request would silently run as anonymous and fail with a misleading 401 (wc-api.md §6, §11).

These are `httpx.Auth` flows, so every attempt of a retried request is signed afresh (a fresh
nonce and timestamp), and the keys never pass through code that builds messages.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Literal

import httpx

from elementafeeds.config.models import Site
from elementafeeds.destinations import oauth1
from elementafeeds.errors import SiteError

AuthMode = Literal["basic", "query", "oauth1"]


def auth_mode(site: Site) -> AuthMode:
    """The effective mode: `auto` becomes basic on https and oauth1 on http."""
    if site.auth != "auto":
        return site.auth
    return "basic" if site.url.lower().startswith("https://") else "oauth1"


class OAuth1Auth(httpx.Auth):
    """One-legged OAuth 1.0a with the signature in the query string (see `oauth1`)."""

    def __init__(self, consumer_key: str, consumer_secret: str,
                 signature_method: str = "HMAC-SHA256") -> None:
        self._key = consumer_key
        self._secret = consumer_secret
        self._method = signature_method

    def __repr__(self) -> str:  # never show the keys
        return f"OAuth1Auth(signature_method={self._method!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        default_port = {"http": 80, "https": 443}.get(url.scheme)
        port = f":{url.port}" if url.port and url.port != default_port else ""
        path = url.raw_path.split(b"?", 1)[0].decode("ascii")
        base_url = f"{url.scheme}://{url.host}{port}{path}"
        signed = oauth1.sign(
            request.method, base_url, url.params.multi_items(), self._key, self._secret,
            signature_method=self._method,
        )
        request.url = url.copy_merge_params(dict(signed))
        yield request


class QueryKeyAuth(httpx.Auth):
    """`?consumer_key=…&consumer_secret=…`: honoured by WooCommerce over https only."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self._key = consumer_key
        self._secret = consumer_secret

    def __repr__(self) -> str:
        return "QueryKeyAuth()"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params(
            {"consumer_key": self._key, "consumer_secret": self._secret}
        )
        yield request


def build_auth(site: Site, credentials: Mapping[str, str]) -> httpx.Auth:
    """The auth flow for `site` from its resolved credentials (consumer_key, consumer_secret)."""
    key = credentials.get("consumer_key")
    secret = credentials.get("consumer_secret")
    if not key or not secret:
        missing = [n for n, v in (("consumer_key", key), ("consumer_secret", secret)) if not v]
        raise SiteError(
            f"site {site.name}: no {' or '.join(missing)} in its credentials",
            hint="give the site consumer_key and consumer_secret as ${ENV_VAR} references "
            "(WooCommerce → Settings → Advanced → REST API)",
        )
    mode = auth_mode(site)
    if mode == "oauth1":
        return OAuth1Auth(key, secret)
    if mode == "query":
        return QueryKeyAuth(key, secret)
    return httpx.BasicAuth(key, secret)
