"""Shared builders for the destination tests (plain functions, no fixtures)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from elementafeeds.config.models import Site
from elementafeeds.destinations.gate import GateSettings, SiteGate
from elementafeeds.destinations.retry import RetryPolicy

KEY_ENV = "EF_TEST_WC_KEY"
SECRET_ENV = "EF_TEST_WC_SECRET"

FAST = RetryPolicy(attempts=5, initial_s=0.005, max_backoff_s=0.02, max_total_s=20.0,
                   max_retry_after_s=1.5, split_after=2)
FAST_GATE = GateSettings(breaker_threshold=50, breaker_cooldown_s=0.05,
                         breaker_max_cooldown_s=0.2, probe_budget=3)


def make_site(url: str, **overrides: Any) -> Site:
    limits = overrides.pop("limits", {})
    data: dict[str, Any] = {
        "kind": "site", "name": "shop", "url": url,
        "credentials": {"consumer_key": "${" + KEY_ENV + "}",
                        "consumer_secret": "${" + SECRET_ENV + "}"},
        "limits": {"batch_size": 10, "concurrency": 4, "timeout_s": 5, **limits},
    }
    data.update(overrides)
    return Site.model_validate(data)


def make_gate(site: Site, settings: GateSettings = FAST_GATE) -> SiteGate:
    return SiteGate.from_site(site, settings)


class RecordingTransport(httpx.AsyncBaseTransport):
    """The real transport, plus what went over it: batch sizes and peak requests in flight.
    Injected through the destination's `transport=` seam (nothing is patched)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.in_flight = 0
        self.max_in_flight = 0
        self.batches: list[int] = []
        self.gets: list[str] = []
        self.sku_lookups: list[list[str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/products/batch"):
            body: Any = json.loads(request.content or b"{}")
            self.batches.append(sum(len(v) for v in body.values()) if body else 0)
        elif request.method == "GET":
            self.gets.append(request.url.path)
            if "sku" in request.url.params:
                self.sku_lookups.append(request.url.params["sku"].split(","))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


def destination(sb: Any, *, gate: SiteGate | None = None, retry: RetryPolicy = FAST,
                transport: httpx.AsyncBaseTransport | None = None,
                gate_settings: GateSettings = FAST_GATE, create_missing_categories: bool = False,
                **site_kw: Any) -> Any:
    """A WooCommerceDestination for the sandbox `sb` (keys come from the environment)."""
    from elementafeeds.destinations.woocommerce import WooCommerceDestination

    site = make_site(sb.url, **site_kw)
    return WooCommerceDestination(site, gate or make_gate(site, gate_settings),
                                  transport=transport, retry=retry,
                                  create_missing_categories=create_missing_categories)


def creates(n: int, prefix: str = "SKU", **fields: Any) -> list[Any]:
    from elementafeeds.destinations.base import WriteOp

    return [WriteOp("create", f"{prefix}-{i}", {"name": f"Product {i}", "regular_price": "9.90",
                                                 **fields}) for i in range(n)]
