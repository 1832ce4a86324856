"""Helpers of the feeds tests: the real sample feeds, feed models, a real local HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from elementafeeds.config.models import Feed

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "feeds"


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample feed {name} is not available")
    return path


def make_feed(url: str | Path, **options: Any) -> Feed:
    """A feed document as the loader would build it (`name: test`)."""
    return Feed.model_validate({"kind": "feed", "name": "test", "url": str(url), **options})


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class LocalServer:
    """A stdlib HTTP server on 127.0.0.1 with routes; counts requests and bytes sent."""

    port: int
    routes: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    bytes_sent: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes = b"", status: int = 200,
            headers: dict[str, str] | None = None) -> str:
        self.routes[path] = (status, headers or {}, body)
        return self.url(path)

    def add_handler(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)


def handler_class(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def send_body(self, body: bytes) -> None:
            view = memoryview(body)
            try:
                for start in range(0, len(body), 65536):
                    self.wfile.write(view[start:start + 65536])
                    server.bytes_sent += min(65536, len(body) - start)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: a preview's early stop

        def do_GET(self) -> None:
            server.requests.append((self.path, dict(self.headers)))
            route = server.routes.get(self.path.split("?")[0])
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "9")
                self.end_headers()
                self.wfile.write(b"not found")
                return
            if callable(route):
                route(self)
                return
            status, headers, body = route
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.send_body(body)

    return Handler
