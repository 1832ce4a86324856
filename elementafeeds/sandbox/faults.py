"""Fault injection: the ways real hosts fail a syncing client, on demand and repeatable.

Faults live in a `FaultPlan` that the CLI fills at start and `PUT/PATCH /__admin/faults`
changes at run time. Each fault has a `rate` (0..1) drawn from its own `random.Random` seeded
from the plan's `seed` and the fault's name, so one fault's draws never shift another's and a
test that sends the same requests sees the same failures. A fault may be limited to `methods`
(a list, or "writes"/"reads"), to `routes` (fnmatch patterns on the path, e.g.
"*/products/batch") and to a number of `times`.

`FaultLayer` is the outermost ASGI app, in front of Starlette, because two faults need what only
the server's own `send` can do: answering *after* the work was applied (the response is
captured, then replaced or withheld) and dropping the connection without a byte (the uvicorn
transport is aborted). The admin routes are never faulted.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import re
import threading
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: name → (default phase, extra settings and their defaults)
FAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "latency": ("before", {"seconds": 0.1}),
    "item_latency": ("before", {"seconds": 0.05}),
    "capacity": ("before", {"limit": 1, "queue_timeout": 1.0}),
    "drop_connection": ("before", {}),
    "rate_limit": ("before", {"retry_after": 1}),
    "gateway_timeout_before": ("before", {}),
    "gateway_timeout_after": ("after", {}),
    "server_error": ("before", {}),
    "html_200": ("before", {}),
    "malformed_json": ("after", {"mode": "notice"}),
    "hang_after_apply": ("after", {"seconds": 30.0}),
}
RESPONSE_FAULTS = ("drop_connection", "rate_limit", "gateway_timeout_before",
                   "gateway_timeout_after", "server_error", "html_200", "malformed_json",
                   "hang_after_apply")
AFTER_ONLY = frozenset({"malformed_json", "hang_after_apply"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_NGINX = ("<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>"
          "\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
_WP_CRITICAL = (
    "<!DOCTYPE html>\n<html lang=\"en-US\">\n<head><meta charset=\"UTF-8\" />"
    "<title>WordPress &rsaquo; Error</title></head>\n<body id=\"error-page\">\n"
    "<div class=\"wp-die-message\"><p>There has been a critical error on this website.</p>"
    "<p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more "
    "about troubleshooting WordPress.</a></p></div></body>\n</html>")
_CHALLENGE = ("<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title></head>"
              "<body><h1>Checking your browser before accessing the site.</h1></body></html>")
_NOTICE = (b"<br />\n<b>Notice</b>:  Undefined index: currency in <b>/var/www/html/wp-content/"
           b"plugins/price-widget/price-widget.php</b> on line <b>42</b><br />\n")


@dataclass
class FaultSpec:
    name: str
    rate: float = 1.0
    methods: list[str] | None = None
    routes: list[str] | None = None
    times: int | None = None
    phase: str = "before"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> FaultSpec:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        phase, defaults = FAULTS[name]
        data = dict(data or {})
        known = {f.name for f in fields(cls)} - {"name", "extra"}
        unknown = set(data) - known - set(defaults)
        if unknown:
            raise ValueError(f"fault {name!r} has no setting {', '.join(sorted(unknown))}")
        rate = float(data.get("rate", 1.0))
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault {name!r}: rate must be between 0 and 1")
        methods = data.get("methods")
        if isinstance(methods, str):
            methods = sorted(WRITES) if methods == "writes" else (
                ["GET", "HEAD"] if methods == "reads" else methods.split("|"))
        spec_phase = "after" if name in AFTER_ONLY else data.get("phase", phase)
        if spec_phase not in ("before", "after"):
            raise ValueError(f"fault {name!r}: phase must be 'before' or 'after'")
        extra = {key: type(default)(data.get(key, default)) for key, default in defaults.items()}
        if any(isinstance(v, (int, float)) and v < 0 for v in extra.values()):
            raise ValueError(f"fault {name!r}: settings must not be negative")
        return cls(name, rate, [m.upper() for m in methods] if methods else None,
                   list(data["routes"]) if data.get("routes") else None,
                   None if data.get("times") is None else int(data["times"]), spec_phase, extra)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rate": self.rate, **self.extra}
        for key in ("methods", "routes", "times"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.name in RESPONSE_FAULTS and self.name not in AFTER_ONLY:
            data["phase"] = self.phase
        return data

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if self.routes is not None and not any(fnmatch.fnmatch(path, p) for p in self.routes):
            return False
        return self.times is None or self.times > 0


class FaultPlan:
    """The current faults and their random streams; thread-safe."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self.seed = 0
        self.specs: dict[str, FaultSpec] = {}
        self._rngs: dict[str, random.Random] = {}
        self.replace(config or {})

    def replace(self, config: dict[str, Any]) -> None:
        """Set every fault at once: `{"seed": 1, "faults": {"rate_limit": {...}}}`."""
        specs = {name: FaultSpec.from_json(name, data)
                 for name, data in (config.get("faults") or {}).items()}
        with self._lock:
            self.seed = int(config.get("seed", 0))
            self.specs = specs
            self._rngs = {name: random.Random(f"{self.seed}:{name}") for name in FAULTS}

    def patch(self, config: dict[str, Any]) -> None:
        """Change some faults (`null` switches one off); a new `seed` restarts every stream."""
        merged = {name: spec.to_json() for name, spec in self.specs.items()}
        for name, data in (config.get("faults") or {}).items():
            if data is None:
                merged.pop(name, None)
            else:
                merged[name] = data
        self.replace({"seed": config.get("seed", self.seed), "faults": merged})

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self.seed,
                    "faults": {name: spec.to_json() for name, spec in self.specs.items()}}

    def active(self, name: str, method: str, path: str) -> FaultSpec | None:
        """The fault's settings if it applies to this request (no draw)."""
        spec = self.specs.get(name)
        return spec if spec is not None and spec.matches(method, path) else None

    def roll(self, name: str, method: str, path: str) -> FaultSpec | None:
        """Draw for this request: the spec when the fault fires, else None."""
        with self._lock:
            spec = self.specs.get(name)
            if spec is None or not spec.matches(method, path):
                return None
            if spec.rate < 1.0 and self._rngs[name].random() >= spec.rate:
                return None
            if spec.times is not None:
                spec.times -= 1
            return spec


def parse_fault_option(text: str) -> tuple[str, dict[str, Any]]:
    """CLI form `NAME[=RATE][:key=value,...]`, lists joined by `|`:
    `rate_limit=0.1:retry_after=2`, `drop_connection=0.05:methods=writes`."""
    head, _, tail = text.partition(":")
    name, _, rate = head.partition("=")
    data: dict[str, Any] = {"rate": float(rate)} if rate else {}
    for pair in filter(None, tail.split(",")):
        key, _, value = pair.partition("=")
        data[key.strip()] = value.split("|") if key.strip() == "routes" else value.strip()
    FaultSpec.from_json(name.strip(), data)  # validate now, not at the first request
    return name.strip(), data


class RequestLog:
    """Requests seen by route (numeric path segments as `{id}`) and method; faults fired; and
    for batch endpoints, how many items each answered batch carried (`batch_items`: {route:
    {items: requests}}), so a benchmark can tell full batches from partial ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_route: dict[str, Counter[str]] = defaultdict(Counter)
            self.faults: Counter[str] = Counter()
            self.batch_items: dict[str, Counter[int]] = defaultdict(Counter)

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.total += 1
            self.by_route[re.sub(r"/\d+(?=/|$)", "/{id}", path)][method] += 1

    def batch(self, path: str, items: int) -> None:
        with self._lock:
            self.batch_items[path][items] += 1

    def fired(self, name: str) -> None:
        with self._lock:
            self.faults[name] += 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self.total,
                    "by_route": {route: dict(c) for route, c in sorted(self.by_route.items())},
                    "faults": dict(self.faults),
                    "batch_items": {route: {str(n): k for n, k in sorted(c.items())}
                                    for route, c in sorted(self.batch_items.items())}}


class FaultLayer:
    """ASGI middleware applying the plan to every non-admin request."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, log: RequestLog,
                 stopping: threading.Event) -> None:
        self.app, self.plan, self.log, self.stopping = app, plan, log, stopping
        self._active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__admin"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.log.record(method, path)
        capacity = self.plan.active("capacity", method, path)
        if capacity is not None and not await self._enter(capacity, method, path):
            self.log.fired("capacity")
            await self._drain(receive)
            await _html(send, 504, _NGINX.format("504 Gateway Time-out"))
            return
        try:
            await self._serve(scope, receive, send, method, path)
        finally:
            if capacity is not None:
                self._active -= 1

    async def _enter(self, spec: FaultSpec, method: str, path: str) -> bool:
        """Wait for a free slot until the queue timeout; False means give up (504)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(spec.extra["queue_timeout"])
        while True:
            current = self.plan.active("capacity", method, path)
            if current is None or self._active < int(current.extra["limit"]):
                self._active += 1
                return True
            if loop.time() >= deadline or self.stopping.is_set():
                return False
            await asyncio.sleep(0.005)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, method: str,
                     path: str) -> None:
        latency = self._roll("latency", method, path)
        if latency is not None:
            await self._sleep(float(latency.extra["seconds"]))
        for name in RESPONSE_FAULTS:
            spec = self.plan.active(name, method, path)
            if spec is not None and spec.phase == "before" and self._roll(name, method, path):
                await self._drain(receive)
                await self._fail(spec, send, receive)
                return
        item = self._roll("item_latency", method, path)
        if item is not None:
            scope["ef.item_delay"] = float(item.extra["seconds"])
        after = None
        for name in RESPONSE_FAULTS:
            spec = self.plan.active(name, method, path)
            if spec is not None and spec.phase == "after" and self._roll(name, method, path):
                after = spec
                break
        if after is None:
            await self.app(scope, receive, send)
            return
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)
        if after.name == "hang_after_apply":
            await self._sleep(float(after.extra["seconds"]))
            for message in captured:
                await send(message)
        elif after.name == "malformed_json":
            await _malformed(send, captured, str(after.extra["mode"]))
        else:
            await self._fail(after, send, receive)

    def _roll(self, name: str, method: str, path: str) -> FaultSpec | None:
        spec = self.plan.roll(name, method, path)
        if spec is not None:
            self.log.fired(name)
        return spec

    async def _fail(self, spec: FaultSpec, send: Send, receive: Receive) -> None:
        if spec.name == "drop_connection":
            await _drop(send, receive)
        elif spec.name == "rate_limit":
            retry = str(spec.extra["retry_after"])
            await _html(send, 429, _NGINX.format("429 Too Many Requests"),
                        [(b"retry-after", retry.encode())])
        elif spec.name.startswith("gateway_timeout"):
            await _html(send, 504, _NGINX.format("504 Gateway Time-out"))
        elif spec.name == "server_error":
            await _html(send, 500, _WP_CRITICAL)
        else:  # html_200
            await _html(send, 200, _CHALLENGE)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake within 50 ms when the server is stopping."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not self.stopping.is_set() and (remaining := end - loop.time()) > 0:
            await asyncio.sleep(min(remaining, 0.05))

    @staticmethod
    async def _drain(receive: Receive) -> None:
        """Read the request body so the connection stays usable after an early answer."""
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                return


async def _html(send: Send, status: int, body: str,
                headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = body.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=UTF-8"),
                            (b"content-length", str(len(data)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


async def _malformed(send: Send, captured: list[Message], mode: str) -> None:
    """The real answer, broken: a PHP notice printed before the JSON, or the JSON cut short."""
    start = next(m for m in captured if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
    body = body[: max(1, len(body) // 2)] if mode == "truncated" else _NOTICE + body
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send, receive: Receive) -> None:
    """Close the socket without a response. uvicorn's `send` is a bound method of its
    request cycle, which holds the transport; aborting it is what a crashed PHP worker or a
    proxy reset looks like to the client."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:  # another ASGI server: start a response and break it off
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"1000")]})
        raise ConnectionAbortedError("fault: drop_connection")
    transport.abort()
    with suppress(asyncio.TimeoutError):
        # Let uvicorn see the disconnect, so it does not try to answer with its own 500.
        await asyncio.wait_for(_until_disconnect(receive), 1.0)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
