"""The sandbox HTTP server: the ASGI app and `SandboxServer`, which runs it in a thread.

Why Starlette + Uvicorn rather than `http.server`: fault injection needs an event loop that can
hold hundreds of slow or hanging requests cheaply, queue them behind a capacity limit, answer
after the work was applied and abort a connection without a byte — all natural in ASGI, awkward
with one thread per request. Both are already dependencies (`ef` needs httpx anyway), start in
milliseconds, and uvicorn can serve on a socket we bind ourselves, so a free port is known
before the thread starts. The h11 protocol is pinned so connection handling is the same
everywhere. Handlers are synchronous and run in Starlette's thread pool; SQLite calls are short
and serialised by the store.

`SandboxServer(db_path, host=, port=0, config=, faults=)` → `.start()` / `.stop()` / `.url`;
used by `ef sandbox`, by the pytest fixtures in `elementafeeds.sandbox.testing` and by demos.
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from elementafeeds.errors import UsageError
from elementafeeds.sandbox import woocommerce_api, wordpress_api
from elementafeeds.sandbox.admin import admin_routes
from elementafeeds.sandbox.auth import Authenticator, php_params
from elementafeeds.sandbox.config import DEFAULT_KEY, DEFAULT_SECRET, SandboxConfig
from elementafeeds.sandbox.faults import FaultLayer, FaultPlan, RequestLog
from elementafeeds.sandbox.rest import (
    ApiRequest,
    ApiResponse,
    RestError,
    Router,
    Services,
    dispatch,
    error_response,
)
from elementafeeds.sandbox.store import Store

__all__ = ["DEFAULT_KEY", "DEFAULT_SECRET", "SandboxServer", "create_app"]

API_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_NOT_FOUND = "<!DOCTYPE html><html><head><title>Page not found</title></head><body>" \
             "<h1>Oops! That page can&rsquo;t be found.</h1></body></html>"


def build_router() -> Router:
    router = Router()
    woocommerce_api.register(router)
    wordpress_api.register(router)
    return router


def handle(services: Services, method: str, route: str, path: str,
           query: list[tuple[str, str]], headers: dict[str, str], raw: bytes, site_url: str,
           item_delay: float, http_method: str) -> ApiResponse:
    """Authenticate, parse and dispatch one REST request (runs in a worker thread).

    `query` is the whole query string, as signed by OAuth clients; `rest_route` (the
    plain-permalink form of the route) is dropped only from the handler's parameters."""
    try:
        identity = services.auth.authenticate(method, route, site_url + path, query, headers,
                                              http_method)
        query = [(k, v) for k, v in query if k != "rest_route"]
        body: Any = {}
        if raw.strip() and not _raw_upload(headers):
            if "application/x-www-form-urlencoded" in headers.get("content-type", ""):
                body = php_params(parse_qsl(raw.decode("utf-8", "replace")))
            else:
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    services.router.match(method, route)  # an unknown route is still 404
                    raise RestError("rest_invalid_json", "Invalid JSON body passed.", 400,
                                    json_error_code=4,
                                    json_error_message="Syntax error") from None
        req = ApiRequest(method, route, php_params(query), body, services, identity, site_url,
                         headers, {}, item_delay, raw)
        return dispatch(req)
    except RestError as exc:
        return error_response(exc)


def _raw_upload(headers: dict[str, str]) -> bool:
    """A file sent as the body (`POST /wp/v2/media`), which WordPress does not parse."""
    kind = headers.get("content-type", "").lower()
    return "content-disposition" in headers or kind.startswith(
        ("image/", "audio/", "video/", "application/octet-stream"))


def create_app(services: Services, plan: FaultPlan, log: RequestLog) -> ASGIApp:
    async def api(request: Request) -> Response:
        path = request.url.path
        query = parse_qsl(request.url.query, keep_blank_values=True)
        if path.startswith("/wp-json"):
            route = path[len("/wp-json"):]
        elif "rest_route" in dict(query):
            route = dict(query)["rest_route"]
        else:
            return HTMLResponse(_NOT_FOUND, 404)
        headers = {k.lower(): v for k, v in request.headers.items()}
        method = request.method if request.method != "HEAD" else "GET"
        override = dict(query).get("_method") or headers.get("x-http-method-override")
        if method == "POST" and override:
            method = override.upper()
        site_url = (services.config.home_url or f"http://{headers.get('host', 'localhost')}"
                    ).rstrip("/")
        raw = await request.body()
        delay = float(request.scope.get("ef.item_delay", 0.0))
        result = await run_in_threadpool(handle, services, method, route.rstrip("/") or "",
                                         path, query, headers, raw, site_url, delay,
                                         request.method)
        items = _batch_items(route, result)
        if items is not None:
            log.batch(path, items)
        return _response(result)

    routes = [*admin_routes(services, plan, log),
              Route("/{path:path}", api, methods=API_METHODS)]
    return FaultLayer(Starlette(routes=routes), plan, log, services.stopping)


def _batch_items(route: str, result: ApiResponse) -> int | None:
    """Items a batch request carried, counted from its answer (None: not a batch answer)."""
    data = result.data
    if not isinstance(data, dict) or result.status not in (200, 207):
        return None
    if route.rstrip("/").endswith("/batch"):  # WooCommerce: {"create": [...], "update": ...}
        return sum(len(data.get(k) or []) for k in ("create", "update", "delete"))
    if route.rstrip("/") == "/batch/v1" and isinstance(data.get("responses"), list):
        return len(data["responses"])
    return None


def _response(result: ApiResponse) -> Response:
    return JSONResponse(result.data, result.status, headers=result.headers,
                        media_type="application/json; charset=UTF-8")


class SandboxServer:
    """A sandbox site on `host:port` (port 0: any free port), served from a thread.

    `config` is the whole site configuration; the keyword shortcuts (`key`, `secret`,
    `wp_user`, `wp_password`, `lenient_auth`) override single fields of it. `faults` is the
    JSON of `PUT /__admin/faults`.
    """

    def __init__(self, db_path: str | Path = ":memory:", *, host: str = "127.0.0.1",
                 port: int = 0, config: SandboxConfig | None = None,
                 faults: dict[str, Any] | None = None, key: str | None = None,
                 secret: str | None = None, wp_user: str | None = None,
                 wp_password: str | None = None, lenient_auth: bool | None = None) -> None:
        self.host, self.port = host, port
        self.config = config or SandboxConfig()
        if key is not None:
            self.config.consumer_key = key
        if secret is not None:
            self.config.consumer_secret = secret
        if wp_user is not None:
            self.config.wp_users[0].username = wp_user
        if wp_password is not None:
            self.config.wp_users[0].password = wp_password
        if lenient_auth is not None:
            self.config.lenient_auth = lenient_auth
        self.store = Store(db_path)
        self._initial_config = copy.deepcopy(vars(self.config))
        self.plan = FaultPlan(faults)
        self.log = RequestLog()
        self.services = Services(self.store, self.config, build_router(),
                                 Authenticator(self.config))
        self.app = create_app(self.services, self.plan, self.log)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_async: asyncio.Event | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> SandboxServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto must say TCP, or asyncio skips TCP_NODELAY on accepted sockets and every
        # keep-alive response waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            self.store.close()
            raise UsageError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
                             hint="choose another --port, or --port 0 for a free one") from exc
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, http="h11", loop="asyncio", lifespan="off",
                                log_level="warning", access_log=False, proxy_headers=False,
                                server_header=False, timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, args=(server, sock), daemon=True,
                                        name=f"ef-sandbox-{self.port}")
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"sandbox did not start: {self._error!r}")
        return self

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            asyncio.run(self._serve(server, sock))
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._ready.set()

    async def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        """uvicorn's serve() minus its 0.1 s tick and fixed shutdown sleep, so a test's
        stop() takes milliseconds."""
        server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)
        await server.startup(sockets=[sock])
        self._loop = asyncio.get_running_loop()
        self._stop_async = asyncio.Event()
        self._ready.set()
        while not self._stop_async.is_set():
            await server.on_tick(0)  # refreshes the Date header
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop_async.wait(), 1.0)
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        deadline = self._loop.time() + 2.0
        state = server.server_state
        while (state.connections or state.tasks) and self._loop.time() < deadline:
            await asyncio.sleep(0.005)  # in-flight requests (a client may be gone) finish
        for connection in list(server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        sock.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (in-flight sleeps and hangs are cut short) and close the database."""
        if self._thread is None:
            return
        self.services.stopping.set()
        if self._loop is not None and self._stop_async is not None:
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop_async.set)
        self._thread.join(timeout)
        self._thread = None
        self.store.close()

    def reset(self, keep_faults: bool = False, keep_config: bool = False) -> None:
        """Back to a fresh site in-process: what `POST /__admin/reset` does, and the config
        back to what this server was started with."""
        self.store.reset()
        self.services.auth.reset()
        self.log.reset()
        if not keep_faults:
            self.plan.replace({"seed": self.plan.seed})
        if not keep_config:
            vars(self.config).update(copy.deepcopy(self._initial_config))

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C arrives as KeyboardInterrupt."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)
