"""OAuth 1.0a one-legged request signing, as WooCommerce verifies it over plain http.

WooCommerce ignores keys sent by HTTP Basic or in the query string unless the server sees
https (`is_ssl()`); over http only these signatures authenticate (wc-api.md §6, §11). The rules
it checks, which this module follows:

* signature parameters travel in the query string (the JSON body is never signed);
* base string = `METHOD & enc(url without query) & enc(sorted "k=v" pairs joined by "&")`,
  where every key and value is RFC 3986-encoded first (so values end up encoded twice);
* every query parameter is signed, the `oauth_*` ones included, `oauth_signature` excluded;
* key = `consumer_secret + "&"` (no token), HMAC-SHA256 (or SHA1), base64;
* the timestamp must be within ±15 minutes of the server's clock and a nonce is single-use,
  so each attempt of a retried request is signed afresh.

It is ~40 lines of hmac/hashlib, which is why oauthlib is not a dependency.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from urllib.parse import quote

_HASHES = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}


def encode(value: str) -> str:
    """RFC 3986 percent-encoding (PHP's rawurlencode): only A-Z a-z 0-9 - . _ ~ stay as is."""
    return quote(value, safe="~")


def base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The OAuth signature base string. `url` is scheme://host[:port]/path, without query."""
    pairs = sorted((encode(k), encode(v)) for k, v in params if k != "oauth_signature")
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), encode(url), encode(normalized)))


def signature(base: str, consumer_secret: str, method: str = "HMAC-SHA256") -> str:
    digest = hmac.new(
        f"{consumer_secret}&".encode(), base.encode(), _HASHES[method]
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def sign(
    method: str,
    url: str,
    query: Iterable[tuple[str, str]],
    consumer_key: str,
    consumer_secret: str,
    *,
    signature_method: str = "HMAC-SHA256",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> list[tuple[str, str]]:
    """The `oauth_*` parameters (signature last) to append to a request's query string.

    `query` holds the request's existing query parameters, decoded, as the server will see them.
    """
    if signature_method not in _HASHES:
        raise ValueError(f"unsupported OAuth signature method {signature_method}")
    oauth = [
        ("oauth_consumer_key", consumer_key),
        ("oauth_nonce", nonce or secrets.token_hex(16)),
        ("oauth_signature_method", signature_method),
        ("oauth_timestamp", str(int(time.time()) if timestamp is None else timestamp)),
    ]
    base = base_string(method, url, [*query, *oauth])
    return [*oauth, ("oauth_signature", signature(base, consumer_secret, signature_method))]
