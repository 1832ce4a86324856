"""The REST plumbing the WooCommerce and WordPress handlers share.

WordPress routes requests itself (`register_rest_route` regexes, first match wins, a method
mismatch is `rest_no_route`) and `/batch/v1` re-dispatches sub-requests through the same
router; so the sandbox has its own tiny router over plain `ApiRequest` objects instead of
Starlette routes. Handlers are synchronous functions run in a worker thread; SQLite work is
serialised by the store's lock, and no transaction is ever held across a pause.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from elementafeeds.sandbox.auth import Authenticator, Identity
    from elementafeeds.sandbox.config import SandboxConfig
    from elementafeeds.sandbox.store import Store

T = TypeVar("T")
R = TypeVar("R")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RestError(Exception):
    """A WP_Error: becomes `{"code", "message", "data": {"status", ...}}` with that status.

    Raised inside a transaction it still commits what was written before (WordPress is not
    transactional: a post can be created and the meta update after it fail).
    """

    keeps_changes = True

    def __init__(self, code: str, message: str, status: int = 400,
                 headers: dict[str, str] | None = None, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message,
                "data": {"status": self.status, **self.data}}


def wp_list(values: Iterable[str]) -> str:
    """WordPress's `%l` list: "a, b, and c"."""
    items = list(values)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def invalid_params(errors: dict[str, str]) -> RestError:
    return RestError("rest_invalid_param", f"Invalid parameter(s): {', '.join(errors)}",
                     400, params=errors)


def missing_params(names: list[str]) -> RestError:
    return RestError("rest_missing_callback_param",
                     f"Missing parameter(s): {', '.join(names)}", 400, params=names)


def no_route() -> RestError:
    return RestError("rest_no_route", "No route was found matching the URL and request method.",
                     404)


@dataclass
class Services:
    """What every handler may use; one instance per running sandbox."""

    store: Store
    config: SandboxConfig
    router: Router
    auth: Authenticator
    stopping: threading.Event = field(default_factory=threading.Event)


@dataclass
class ApiRequest:
    """One REST request, already authenticated; `route` is the path below `/wp-json`."""

    method: str
    route: str
    query: dict[str, Any]
    body: Any
    services: Services
    identity: Identity
    site_url: str
    headers: dict[str, str] = field(default_factory=dict)
    path_params: dict[str, str] = field(default_factory=dict)
    item_delay: float = 0.0
    raw: bytes = b""
    """The request body as sent (a media upload is raw bytes, not JSON)."""

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def config(self) -> SandboxConfig:
        return self.services.config

    @property
    def params(self) -> dict[str, Any]:
        """Body parameters over query parameters, as WP_REST_Request::get_params merges them."""
        merged = dict(self.query)
        if isinstance(self.body, dict):
            merged.update(self.body)
        return merged

    def sub(self, method: str, route: str, query: dict[str, Any], body: Any) -> ApiRequest:
        return ApiRequest(method, route, query, body, self.services, self.identity,
                          self.site_url, {}, {}, self.item_delay)

    def pause(self, seconds: float) -> None:
        """Sleep for a fault's delay, cut short when the server stops."""
        if seconds > 0:
            self.services.stopping.wait(seconds)


@dataclass
class ApiResponse:
    status: int = 200
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ApiRequest], ApiResponse]


@dataclass
class Route:
    methods: frozenset[str]
    pattern: str
    handler: Handler
    regex: re.Pattern[str]
    validate: Callable[[ApiRequest], None] | None = None
    batch_v1: bool = False
    itemized: bool = False
    """The handler opens its own transactions (batches); the dispatcher must not."""


class Router:
    """First matching regex wins, like `WP_REST_Server::match_request_to_handler`."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, methods: str, pattern: str, handler: Handler, *,
            validate: Callable[[ApiRequest], None] | None = None,
            batch_v1: bool = False, itemized: bool = False) -> None:
        regex = re.compile("^" + pattern + "/?$")
        self.routes.append(Route(frozenset(methods.split()), pattern, handler, regex,
                                 validate, batch_v1, itemized))

    def match(self, method: str, route: str) -> tuple[Route, dict[str, str]]:
        for candidate in self.routes:
            found = candidate.regex.match(route)
            if found and method in candidate.methods:
                return candidate, found.groupdict()
        raise no_route()


def dispatch(req: ApiRequest) -> ApiResponse:
    """Match, validate and run one request; errors become their WP_Error response."""
    try:
        route, path_params = req.services.router.match(req.method, req.route)
        req.path_params = path_params
        return run_route(route, req)
    except RestError as exc:
        return error_response(exc)


def run_route(route: Route, req: ApiRequest, validated: bool = False) -> ApiResponse:
    if route.validate is not None and not validated:
        route.validate(req)
    if route.itemized:
        return route.handler(req)
    if req.method in WRITE_METHODS:
        req.pause(req.item_delay)
    with req.store.tx():
        return route.handler(req)


def error_response(exc: RestError) -> ApiResponse:
    return ApiResponse(exc.status, exc.body(), dict(exc.headers))


def run_items(req: ApiRequest, items: list[T], apply: Callable[[T], R]) -> list[R]:
    """Apply batch items in order: one transaction for all, or one per item when a per-item
    latency fault is on (so a client that gives up mid-batch leaves the first items applied,
    as on a real store)."""
    results: list[R] = []
    if req.item_delay <= 0:
        with req.store.tx():
            return [apply(item) for item in items]
    for item in items:
        req.pause(req.item_delay)
        with req.store.tx():
            results.append(apply(item))
    return results
