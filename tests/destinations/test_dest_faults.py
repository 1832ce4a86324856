"""Writes under the faults real hosts produce, against the sandbox: exactly once, always.

The sandbox's fault plan is seeded, so each run sees the same failures. Waits are tiny
(retry policy and breaker settings from dest_helpers), so the whole file runs in seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from dest_helpers import RecordingTransport, creates, destination, make_gate, make_site

from elementafeeds.destinations.base import WriteOp
from elementafeeds.destinations.gate import CircuitOpenError, GateSettings
from elementafeeds.destinations.retry import RetryPolicy
from elementafeeds.errors import RetriableSiteError
from elementafeeds.sandbox.testing import SandboxHandle

PATIENT = RetryPolicy(attempts=10, initial_s=0.005, max_backoff_s=0.02, max_total_s=30.0,
                      max_retry_after_s=1.5, split_after=2)
BATCH = ["*/products/batch"]


def _exactly_once(wc: SandboxHandle, skus: list[str]) -> None:
    counts = Counter(p["sku"].lower() for p in wc.products())
    assert {s.lower() for s in skus} == set(counts)
    assert max(counts.values()) == 1, [s for s, n in counts.items() if n > 1]


@pytest.mark.parametrize("fault", [
    {"gateway_timeout_after": {"rate": 0.3, "routes": BATCH}},
    {"gateway_timeout_after": {"rate": 0.5, "routes": BATCH}},
    {"hang_after_apply": {"rate": 0.3, "seconds": 1.0, "routes": BATCH}},
    {"malformed_json": {"rate": 0.3, "routes": BATCH}},
    {"html_200": {"rate": 0.3, "routes": BATCH}},
    {"server_error": {"rate": 0.3}},
    {"drop_connection": {"rate": 0.2}},
], ids=lambda f: next(iter(f)) + "-" + str(next(iter(f.values()))["rate"]))
def test_lost_answers_never_duplicate_or_lose_a_product(wc: SandboxHandle,
                                                         fault: dict[str, Any]) -> None:
    ops = creates(60)
    wc.set_faults(fault, seed=3)

    async def main() -> tuple[list, list]:
        async with destination(wc, retry=PATIENT,
                               limits={"batch_size": 10, "timeout_s": 0.4}) as dest:
            first = await dest.write(ops)
            ids = {r.sku: r.product_id for r in first}
            second = await dest.write([WriteOp("update", op.sku, {"regular_price": "1.00"},
                                               ids[op.sku]) for op in ops])
            return first, second

    first, second = asyncio.run(main())
    fired = wc.request_counts()["faults"]
    wc.clear_faults()
    assert fired.get(next(iter(fault)), 0) > 0
    assert [r.status for r in first] == ["created"] * 60, [r for r in first if r.code]
    assert [r.status for r in second] == ["updated"] * 60
    assert len({r.product_id for r in first}) == 60
    _exactly_once(wc, [op.sku for op in ops])
    assert {p["regular_price"] for p in wc.products()} == {"1.00"}


def test_429_with_retry_after_is_waited_out_and_recovers(wc: SandboxHandle) -> None:
    wc.set_faults({"rate_limit": {"rate": 1, "times": 1, "retry_after": 1, "routes": BATCH}})

    async def main() -> list:
        async with destination(wc) as dest:
            return await dest.write(creates(5))

    started = time.perf_counter()
    results = asyncio.run(main())
    assert time.perf_counter() - started >= 1.0
    assert [r.status for r in results] == ["created"] * 5
    assert wc.request_counts()["faults"] == {"rate_limit": 1}


def test_a_batch_that_keeps_timing_out_is_split_down_to_single_items(wc: SandboxHandle) -> None:
    # 0.2 s per item against a 0.35 s timeout: only single items fit.
    wc.set_faults({"item_latency": {"rate": 1, "seconds": 0.2, "routes": BATCH}})
    rec = RecordingTransport()

    async def main() -> list:
        async with destination(wc, transport=rec, retry=replace(PATIENT, split_after=1),
                               limits={"batch_size": 8, "timeout_s": 0.35,
                                       "concurrency": 8}) as dest:
            return await dest.write(creates(8))

    results = asyncio.run(main())
    assert [r.status for r in results] == ["created"] * 8
    assert rec.batches[0] == 8 and 4 in rec.batches and 2 in rec.batches and 1 in rec.batches
    wc.clear_faults()
    _exactly_once(wc, [f"SKU-{i}" for i in range(8)])


def test_breaker_opens_on_repeated_failures_probes_and_recovers(wc: SandboxHandle) -> None:
    wc.set_faults({"server_error": {"rate": 1, "times": 4}})
    site = make_site(wc.url)
    gate = make_gate(site, GateSettings(breaker_threshold=3, breaker_cooldown_s=0.05,
                                        probe_budget=3))

    async def main() -> list:
        async with destination(wc, gate=gate, retry=PATIENT) as dest:
            return await dest.write(creates(5))

    results = asyncio.run(main())
    assert [r.status for r in results] == ["created"] * 5
    assert gate.stats.opened == 1 and gate.stats.probes >= 1 and gate.state == "closed"
    _exactly_once(wc, [f"SKU-{i}" for i in range(5)])


def test_a_site_that_stays_down_ends_the_write_with_a_retriable_error(wc: SandboxHandle) -> None:
    wc.set_faults({"server_error": {"rate": 1}})
    site = make_site(wc.url)
    gate = make_gate(site, GateSettings(breaker_threshold=3, breaker_cooldown_s=0.02,
                                        probe_budget=3))

    async def main() -> None:
        async with destination(wc, gate=gate, retry=PATIENT) as dest:
            await dest.write(creates(20))

    started = time.perf_counter()
    with pytest.raises(RetriableSiteError) as info:
        asyncio.run(main())
    assert isinstance(info.value, CircuitOpenError) and info.value.exit_code == 4
    assert len(info.value.partial_results) == 20  # type: ignore[attr-defined]
    assert gate.state == "dead" and time.perf_counter() - started < 5


def test_adaptive_concurrency_stays_within_the_limit_and_backs_off_a_saturated_site(
        wc: SandboxHandle) -> None:
    wc.set_faults({"capacity": {"limit": 2, "queue_timeout": 10},
                   "latency": {"rate": 1, "seconds": 0.03, "routes": BATCH}})
    rec = RecordingTransport()
    site = make_site(wc.url, limits={"batch_size": 5, "concurrency": 8})
    gate = make_gate(site)

    async def main() -> list:
        async with destination(wc, gate=gate, transport=rec,
                               limits={"batch_size": 5, "concurrency": 8}) as dest:
            return await dest.write(creates(200))

    results = asyncio.run(main())
    assert all(r.status == "created" for r in results)
    assert rec.max_in_flight <= 8 and gate.stats.max_in_flight <= 8
    assert gate.stats.decreases >= 1 and gate.stats.max_window > 2


def test_connections_sharing_a_site_share_its_concurrency_limit(wc: SandboxHandle) -> None:
    wc.set_faults({"latency": {"rate": 1, "seconds": 0.02, "routes": BATCH}})
    rec = RecordingTransport()
    site = make_site(wc.url, limits={"batch_size": 2, "concurrency": 3})
    gate = make_gate(site)

    async def main() -> None:
        async with destination(wc, gate=gate, transport=rec, limits={"batch_size": 2,
                                                                     "concurrency": 3}) as a, \
                destination(wc, gate=gate, transport=rec, limits={"batch_size": 2,
                                                                  "concurrency": 3}) as b:
            await asyncio.gather(a.write(creates(30, "A")), b.write(creates(30, "B")))

    asyncio.run(main())
    assert rec.max_in_flight <= 3 and gate.stats.max_in_flight == 3
    assert len(wc.products()) == 60
