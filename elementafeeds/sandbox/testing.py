"""pytest plugin: a real sandbox site over HTTP for tests (`pytest_plugins = [__name__]`).

Fixtures
    sandbox          a fresh server on a free 127.0.0.1 port with its own SQLite file
    sandbox_server   one server for the whole session (the `SandboxServer`)
    shared_sandbox   that session server, reset (data, faults, config) before the test — fast
    sandbox_factory  `make(config=SandboxConfig(...), faults={...}, db_path=None)` → handle;
                     every server made is stopped after the test

Every fixture yields a `SandboxHandle`: `.url`, `.key`, `.secret`, `.wp_user`,
`.wp_password`, `.wc_url(path)`, `.wp_url(path)`, `.image_url(name)` (a stand-in image host on
the same loopback address, so no test reaches the internet) and the admin helpers below.
Readiness is an event set once uvicorn listens; there is no sleep anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from elementafeeds.sandbox.config import SandboxConfig
from elementafeeds.sandbox.server import SandboxServer


class SandboxHandle:
    """A running sandbox plus the credentials and admin calls a test needs."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self._client = httpx.Client(base_url=f"{server.url}/__admin", timeout=10.0)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def key(self) -> str:
        return self.server.config.consumer_key

    @property
    def secret(self) -> str:
        return self.server.config.consumer_secret

    @property
    def wp_user(self) -> str:
        return self.server.config.wp_users[0].username

    @property
    def wp_password(self) -> str:
        return self.server.config.wp_users[0].password

    def wc_url(self, path: str = "") -> str:
        return f"{self.url}/wp-json/wc/v3{path}"

    def wp_url(self, path: str = "") -> str:
        return f"{self.url}/wp-json/wp/v2{path}"

    def admin(self, method: str, path: str, json: Any = None,
              params: dict[str, Any] | None = None) -> Any:
        """Call `/__admin{path}` and return its JSON; raises on an error status."""
        response = self._client.request(method, path, json=json, params=params)
        response.raise_for_status()
        return response.json()

    def set_faults(self, faults: dict[str, Any], seed: int = 0) -> dict[str, Any]:
        """Replace every fault: `{"rate_limit": {"rate": 1, "retry_after": 2}}`."""
        return self.admin("PUT", "/faults", {"seed": seed, "faults": faults})

    def patch_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        """Change some faults; a value of None switches that fault off."""
        return self.admin("PATCH", "/faults", {"faults": faults})

    def clear_faults(self) -> dict[str, Any]:
        return self.admin("DELETE", "/faults")

    def products(self, status: str | None = None, sku: str | None = None) -> list[dict]:
        """Every product, trash included, in the REST shape."""
        params = {k: v for k, v in {"status": status, "sku": sku}.items() if v}
        return self.admin("GET", "/products", params=params)

    def posts(self, rest_base: str = "posts") -> list[dict]:
        return self.admin("GET", "/posts", params={"type": rest_base})

    def media(self) -> list[dict]:
        """Every attachment, in the REST shape of `/wp/v2/media`."""
        return self.admin("GET", "/media")

    def image_url(self, name: str, **params: Any) -> str:
        """A URL of the sandbox's stand-in image host (`status=404`, `type=`, `size=`)."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{self.url}/__admin/images/{name}" + (f"?{query}" if query else "")

    def terms(self, taxonomy: str = "product_cat") -> list[dict]:
        return self.admin("GET", "/terms", params={"taxonomy": taxonomy})

    def request_counts(self) -> dict[str, Any]:
        """`{"total": n, "by_route": {route: {method: n}}, "faults": {name: n}}`."""
        return self.admin("GET", "/requests")

    def reset(self, keep_faults: bool = False) -> None:
        self.admin("POST", "/reset", {"keep_faults": keep_faults})

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self.admin("PATCH", "/config", changes)

    def seed_categories(self, tree: list[dict[str, Any]], taxonomy: str = "product_cat"
                        ) -> list[dict[str, Any]]:
        return self.admin("POST", "/seed/categories", {"taxonomy": taxonomy, "tree": tree})[
            "created"]

    def seed_attributes(self, attributes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.admin("POST", "/seed/attributes", {"attributes": attributes})["created"]

    def seed_products(self, products: list[dict[str, Any]]) -> list[int]:
        return self.admin("POST", "/seed/products", {"products": products})["ids"]

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxHandle]:
    """A fresh sandbox for this test only."""
    server = SandboxServer(tmp_path / "sandbox.db").start()
    handle = SandboxHandle(server)
    try:
        yield handle
    finally:
        handle.close()
        server.stop()


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path_factory.mktemp("sandbox") / "sandbox.db").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shared_sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxHandle]:
    """The session's sandbox, wiped before this test: much faster than `sandbox`."""
    sandbox_server.reset()
    handle = SandboxHandle(sandbox_server)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Callable[..., SandboxHandle]]:
    handles: list[SandboxHandle] = []

    def make(config: SandboxConfig | None = None, faults: dict[str, Any] | None = None,
             db_path: str | Path | None = None) -> SandboxHandle:
        path = db_path or tmp_path / f"sandbox-{len(handles)}.db"
        handle = SandboxHandle(SandboxServer(path, config=config, faults=faults).start())
        handles.append(handle)
        return handle

    try:
        yield make
    finally:
        for handle in handles:
            handle.close()
            handle.server.stop()
