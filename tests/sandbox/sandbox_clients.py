"""HTTP clients for the sandbox tests: WooCommerce signed with OAuth 1.0a by oauthlib (an
independent implementation of the signature), WordPress with an application password."""

from __future__ import annotations

from collections.abc import Generator

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_QUERY, Client

from elementafeeds.sandbox.testing import SandboxHandle


class OAuth1(httpx.Auth):
    """One-legged OAuth 1.0a with the signature in the query string, as WooCommerce wants on
    plain http."""

    def __init__(self, key: str, secret: str, method: str = SIGNATURE_HMAC_SHA1) -> None:
        self.client = Client(key, client_secret=secret, signature_type=SIGNATURE_TYPE_QUERY,
                             signature_method=method)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        uri, _, _ = self.client.sign(str(request.url), http_method=request.method)
        request.url = httpx.URL(uri)
        yield request


def wc_client(handle: SandboxHandle, **kwargs: object) -> httpx.Client:
    return httpx.Client(base_url=handle.wc_url(), auth=OAuth1(handle.key, handle.secret),
                        timeout=kwargs.pop("timeout", 10.0), **kwargs)  # type: ignore[arg-type]


def wp_client(handle: SandboxHandle, user: str | None = None,
              password: str | None = None) -> httpx.Client:
    auth = httpx.BasicAuth(user or handle.wp_user, password or handle.wp_password)
    return httpx.Client(base_url=handle.url + "/wp-json", auth=auth, timeout=10.0)
