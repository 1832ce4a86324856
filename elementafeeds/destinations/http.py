"""The HTTP boundary: the client factory, secret scrubbing, and what each answer means.

Every response and transport error is translated here, once, into the project's taxonomy
(singer-sdk's `validate_response` idea), so retries key off the class, never off strings:

    SiteError                    401, 403, 404, 400, 413, redirects: a retry will not fix it
    └── RetriableSiteError       429, 5xx, 408, connect failures: worth retrying
        └── AmbiguousSiteError   timeouts, dropped connections, 5xx, 2xx with HTML: the
                                 request may have been applied; verify before repeating a create

Messages name the method and the path, never the query string (it carries OAuth signatures,
or the keys themselves with `auth: query`), and pass through a `Scrubber` that blanks the
site's resolved secrets wherever they might have been echoed.
"""

from __future__ import annotations

import email.utils
import html
import json
import logging
import re
import time
from collections.abc import Iterable
from typing import Any

import httpx

from elementafeeds.destinations.gate import OVERLOAD_STATUS
from elementafeeds.errors import RetriableSiteError, SiteError

log = logging.getLogger(__name__)

USER_AGENT = "ElementaFeeds/0.1 (+https://github.com/elementafeeds)"
_SECRET_PARAM = re.compile(
    r"((?:oauth_[a-z_]+|consumer_key|consumer_secret)=)[^&\s\"'#]*", re.IGNORECASE
)
_TAGS = re.compile(r"<[^>]+>")


class AmbiguousSiteError(RetriableSiteError):
    """A write whose answer was lost: it may have been applied. Verify by SKU before a retry."""


class Scrubber:
    """Removes secrets from any text about to leave the process (messages, logs)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"Scrubber({len(self._secrets)} secrets)"

    def __call__(self, text: str) -> str:
        text = _SECRET_PARAM.sub(r"\1***", text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def safe_url(url: httpx.URL | str) -> str:
    """The URL with every oauth_* / consumer_* query value blanked: fit for logs."""
    return _SECRET_PARAM.sub(r"\1***", str(url))


class _ScrubLogFilter(logging.Filter):
    """httpx logs each request's full URL at INFO; `ef -v` must not print signatures or keys."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is logging's problem
            return True
        cleaned = _SECRET_PARAM.sub(r"\1***", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _ScrubLogFilter()


def install_log_scrubbing() -> None:
    """Attach the scrubbing filter to httpx's and httpcore's loggers (idempotent)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def make_client(
    base_url: str,
    auth: httpx.Auth,
    *,
    timeout_s: float,
    max_connections: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for one site. Redirects are not followed: a POST redirected to
    https://www. would silently turn into a GET, so a redirect is reported instead."""
    install_log_scrubbing()
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        transport=transport,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _body(response: httpx.Response) -> tuple[Any, bool]:
    """(parsed JSON, True) or (None, False) for an HTML page, a PHP notice, a truncated body."""
    try:
        return response.json(), True
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None, False


def _store_error(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        message = body.get("message")
        return body["code"], plain_text(message) if isinstance(message, str) else None
    return None, None


def plain_text(text: str, limit: int = 300) -> str:
    """HTML from a store's message (WP's critical-error page) as one short plain line."""
    text = " ".join(html.unescape(_TAGS.sub(" ", text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _auth_hint(code: str | None, message: str | None, status: int, scheme: str,
               mode: str) -> str:
    text = (message or "").lower()
    if code == "woocommerce_rest_authentication_error":
        if "write permission" in text:
            return "the key is read-only: regenerate it with Read/Write permission"
        if "timestamp" in text:
            return "this machine's clock is off: OAuth signatures must be within 15 minutes"
        if "signature" in text:
            return ("the consumer secret is wrong, or the site's url differs from its home URL "
                    "as WordPress sees it (scheme, host, port: a proxy that rewrites it breaks "
                    "OAuth signatures)")
        return "check the environment variables behind the site's consumer_key/consumer_secret"
    if scheme == "http" and mode in ("basic", "query") and code and code.startswith(
        "woocommerce_rest_cannot"
    ):
        return ("WooCommerce ignores keys sent by Basic/query over plain http; use https or "
                "auth: oauth1")
    if status == 403:
        return ("the key's user lacks the capability: use a key of a Shop manager or "
                "Administrator with Read/Write permission")
    if code in ("invalid_username", "incorrect_password"):
        return ("WordPress tried the key as an application password: the consumer key is "
                "unknown to WooCommerce")
    return "check the site's consumer_key/consumer_secret and that the key is Read/Write"


def check_response(
    response: httpx.Response,
    what: str,
    *,
    site: str,
    scrub: Scrubber,
    mode: str = "oauth1",
) -> Any:
    """The parsed JSON body of a successful answer, or the right SiteError raised."""
    status = response.status_code
    body, is_json = _body(response)
    code, message = _store_error(body)
    message = scrub(message) if message else None
    prefix = f"site {site}: {what} answered {status}"
    detail = f" {code}: {message}" if code else (
        "" if is_json or not response.content else " with a non-JSON page"
    )
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if 200 <= status < 300:
        if is_json:
            return body
        raise AmbiguousSiteError(
            f"{prefix} with a non-JSON body (an HTML page, a PHP notice or a cut-off answer)",
            hint="a cache, security plugin or PHP warning is rewriting the API's answers",
            status=status, code="invalid_json",
        )
    if status in (408, 429) or status >= 500 and status != 501:
        cls = RetriableSiteError if status == 429 else AmbiguousSiteError
        raise cls(
            f"{prefix}{detail}", status=status, code=code or f"http_{status}",
            retry_after=retry_after,
            hint="the site is overloaded or rate-limited; lower limits.concurrency"
            if status in OVERLOAD_STATUS else None,
        )
    if 300 <= status < 400:
        location = safe_url(response.headers.get("Location", "?"))
        raise SiteError(
            f"{prefix}: a redirect to {location}", status=status, code=f"http_{status}",
            hint="set the site's url to the address it redirects to (scheme and www. included)",
        )
    if status in (401, 403):
        scheme = response.request.url.scheme if response.request else "https"
        raise SiteError(f"{prefix}{detail}", status=status, code=code,
                        hint=_auth_hint(code, message, status, scheme, mode))
    if status == 404 and code in (None, "rest_no_route"):
        raise SiteError(
            f"{prefix}{detail or ' (no such route)'}", status=status, code=code or "http_404",
            hint="is WooCommerce active, are pretty permalinks on, and is the url the site's "
            "home URL (no /wp-json)?",
        )
    if status == 413:
        raise SiteError(f"{prefix}{detail}", status=status, code=code or "http_413",
                        hint="lower the site's limits.batch_size")
    error = SiteError(f"{prefix}{detail}", status=status, code=code or f"http_{status}")
    # term_exists / product_invalid_sku name the existing object: callers adopt it.
    error.resource_id = resource_id(body)  # type: ignore[attr-defined]
    raise error


def resource_id(body: Any) -> int | None:
    """`data.resource_id` (WooCommerce) or `data.term_id` (WordPress) of an error body."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return None
    value = data.get("resource_id", data.get("term_id"))
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def translate_transport_error(exc: httpx.HTTPError, what: str, *, site: str) -> SiteError:
    """An httpx exception as our taxonomy. The text never includes the request URL."""
    kind = type(exc).__name__
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        # Nothing reached the server: safe to repeat, even a create.
        return RetriableSiteError(
            f"site {site}: {what} could not connect ({kind})", code="connect_error",
            hint="is the site up and its url right?",
        )
    if isinstance(exc, httpx.TimeoutException):
        return AmbiguousSiteError(
            f"site {site}: {what} timed out ({kind})", code="site_timeout",
            hint="the site is slow: lower limits.batch_size or raise limits.timeout_s",
        )
    if isinstance(exc, (httpx.TransportError, httpx.DecodingError)):
        return AmbiguousSiteError(
            f"site {site}: {what} lost its connection ({kind})", code="connection_dropped"
        )
    return SiteError(f"site {site}: {what} failed ({kind})", code="http_error")

