"""Who is asking: WooCommerce key authentication and WordPress application passwords.

Mirrors `WC_REST_Authentication` on a plain-http site (wc-api.md §6, §11): on `wc/*` routes a
request is authenticated only by an OAuth 1.0a one-legged signature (HMAC-SHA1/SHA256 over
`METHOD&enc(url)&enc(sorted params)`, key `secret&`, ±15 min timestamps, single-use nonces);
HTTP Basic and `?consumer_key=` are ignored and the request runs as anonymous, unless the site
is told to behave as https (`lenient_auth`). On other routes WordPress application passwords
over HTTP Basic apply (§9, §12), as on a site whose environment type is `local`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from elementafeeds.sandbox.config import SandboxConfig
from elementafeeds.sandbox.rest import RestError

WINDOW_SECONDS = 15 * 60
_OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature",
                 "oauth_signature_method")
_HEADER_PARAM_RE = re.compile(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))')
_BASIC_REALM = ('Basic realm="WooCommerce API. Use a consumer key in the username field and a '
                'consumer secret in the password field."')


@dataclass(frozen=True)
class Identity:
    """The user a request runs as. `read_only` users are logged in but lack the capability."""

    kind: str = "anonymous"  # anonymous | wc_key | wp_user
    name: str = ""
    user_id: int = 0
    read_only: bool = False

    @property
    def logged_in(self) -> bool:
        return self.kind != "anonymous"

    @property
    def can_manage(self) -> bool:
        return self.logged_in and not self.read_only

    @property
    def denial_status(self) -> int:
        """`rest_authorization_required_code()`: 401 logged out, 403 logged in."""
        return 403 if self.logged_in else 401


ANONYMOUS = Identity()


def wc_auth_error(message: str, **headers: str) -> RestError:
    return RestError("woocommerce_rest_authentication_error", message, 401, headers=headers)


def rfc3986(text: str) -> str:
    """`wc_rest_urlencode_rfc3986`: rawurlencode with `~` kept."""
    return quote(text, safe="~")


def php_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Query pairs as PHP's `$_GET` holds them: `a[]=x` becomes a list, a repeated key keeps
    its last value."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            existing = params.get(key[:-2])
            params[key[:-2]] = (existing if isinstance(existing, list) else []) + [value]
        else:
            params[key] = value
    return params


def signature_base_string(method: str, url: str, params: dict[str, Any]) -> str:
    """The string WooCommerce signs (WC-Auth `check_oauth_signature`)."""
    parts = []
    for key in sorted(k for k in params if k != "oauth_signature"):
        value = params[key]
        if isinstance(value, list):
            for index, inner in enumerate(value):
                parts.append(rfc3986(f"{rfc3986(key)}%5B{index}%5D={rfc3986(str(inner))}"))
        else:
            parts.append(rfc3986(f"{rfc3986(key)}={rfc3986(str(value))}"))
    return f"{method.upper()}&{rfc3986(url)}&{'%26'.join(parts)}"


class Authenticator:
    """Authenticates requests against the live config; remembers nonces for the window."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self._nonces: dict[str, float] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._nonces.clear()

    def authenticate(self, method: str, route: str, url: str, query: list[tuple[str, str]],
                     headers: dict[str, str], http_method: str | None = None) -> Identity:
        """Return the identity, or raise the 401 RestError the real site would answer.

        `url` is the request URL without query as the site sees it (home URL + path);
        `headers` have lower-case names; `http_method` is the method on the wire (signed),
        when `method` was overridden by `_method`.
        """
        if route.startswith(("/wc/", "/wc-")):
            identity = self._woocommerce(http_method or method, url, query, headers)
            if identity.kind == "wc_key":
                self._check_key_permissions(method)
            return identity
        return self._application_password(headers, wc_route=False)

    def _woocommerce(self, method: str, url: str, query: list[tuple[str, str]],
                     headers: dict[str, str]) -> Identity:
        if self.config.lenient_auth:
            identity = self._basic_key(query, headers)
            if identity is not None:
                return identity
        params = self._oauth_params(query, headers)
        if params:
            return self._oauth(method, url, params)
        return self._application_password(headers, wc_route=True)

    def _basic_key(self, query: list[tuple[str, str]], headers: dict[str, str]
                   ) -> Identity | None:
        given = dict(query)
        if "consumer_key" in given and "consumer_secret" in given:
            key, secret = given["consumer_key"], given["consumer_secret"]
        else:
            credentials = _basic_credentials(headers)
            if credentials is None:
                return None
            key, secret = credentials
        if key != self.config.consumer_key:
            return None  # unknown key: no error, the request continues as anonymous
        if not hmac.compare_digest(secret, self.config.consumer_secret):
            raise wc_auth_error("Consumer secret is invalid.", **{"WWW-Authenticate": _BASIC_REALM})
        return Identity("wc_key", key)

    def _oauth_params(self, query: list[tuple[str, str]], headers: dict[str, str]
                      ) -> dict[str, Any]:
        params = php_params(query)
        header = headers.get("authorization", "").strip()
        if header.lower().startswith("oauth "):
            for name, quoted, bare in _HEADER_PARAM_RE.findall(header):
                params[name] = unquote(quoted or bare)
        present = [name for name in _OAUTH_PARAMS if params.get(name)]
        if not present:
            return {}
        missing = [name for name in _OAUTH_PARAMS if not params.get(name)]
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise RestError("woocommerce_rest_authentication_missing_parameter",
                            f"Missing OAuth {noun} {', '.join(missing)}", 401)
        return params

    def _oauth(self, method: str, url: str, params: dict[str, Any]) -> Identity:
        if params["oauth_consumer_key"] != self.config.consumer_key:
            raise wc_auth_error("Consumer key is invalid.")
        given = unquote(str(params["oauth_signature"]).replace(" ", "+"))
        base = signature_base_string(method, url, params)
        signature_method = params["oauth_signature_method"]
        if signature_method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise wc_auth_error("Invalid signature - signature method is invalid.")
        digest = hashlib.sha1 if signature_method == "HMAC-SHA1" else hashlib.sha256
        key = (self.config.consumer_secret + "&").encode()
        expected = base64.b64encode(hmac.new(key, base.encode(), digest).digest()).decode()
        if not hmac.compare_digest(expected, given):
            raise wc_auth_error("Invalid signature - provided signature does not match.")
        self._use_nonce(str(params["oauth_timestamp"]), str(params["oauth_nonce"]))
        return Identity("wc_key", self.config.consumer_key)

    def _use_nonce(self, timestamp_text: str, nonce: str) -> None:
        now = self.clock()
        try:
            timestamp = int(timestamp_text)
        except ValueError:
            timestamp = 0
        if not now - WINDOW_SECONDS <= timestamp <= now + WINDOW_SECONDS:
            raise wc_auth_error("Invalid timestamp.")
        with self._lock:
            for old, seen in list(self._nonces.items()):
                if seen < now - WINDOW_SECONDS:
                    del self._nonces[old]
            if nonce in self._nonces:
                raise wc_auth_error("Invalid nonce - nonce has already been used.")
            self._nonces[nonce] = now

    def _check_key_permissions(self, method: str) -> None:
        permissions = self.config.key_permissions
        if method in ("GET", "HEAD") and permissions not in ("read", "read_write"):
            raise wc_auth_error("The API key provided does not have read permissions.")
        if method in ("POST", "PUT", "PATCH", "DELETE") and permissions not in (
                "write", "read_write"):
            raise wc_auth_error("The API key provided does not have write permissions.")

    def _application_password(self, headers: dict[str, str], wc_route: bool) -> Identity:
        credentials = _basic_credentials(headers)
        if credentials is None:
            return ANONYMOUS
        login, password = credentials
        user = self.config.find_wp_user(login)
        if user is None:
            if wc_route:
                return ANONYMOUS  # a consumer key sent as Basic on http (wc-api.md §11)
            if "@" in login:
                raise RestError("invalid_email",
                                "Unknown email address. Check again or try your username.", 401)
            raise RestError("invalid_username",
                            "Unknown username. Check again or try your email address.", 401)
        if not hmac.compare_digest(password.replace(" ", ""), user.password.replace(" ", "")):
            raise RestError("incorrect_password",
                            "The provided password is an invalid application password.", 401)
        return Identity("wp_user", user.username, user.user_id, user.read_only)


def _basic_credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    header = headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, _, password = decoded.partition(":")
    return login, password
