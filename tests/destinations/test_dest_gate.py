"""The per-site gate on its own: AIMD window, breaker, Retry-After (pure asyncio, no HTTP)."""

from __future__ import annotations

import asyncio
import time

import pytest

from elementafeeds.destinations.gate import CircuitOpenError, GateSettings, SiteGate
from elementafeeds.errors import RetriableSiteError, SiteError


class FakeSite:
    """`capacity` requests served at once, `service_s` each; the rest queue (like PHP-FPM)."""

    def __init__(self, capacity: int, service_s: float) -> None:
        self.sem = asyncio.Semaphore(capacity)
        self.service_s = service_s
        self.served = 0

    async def request(self) -> None:
        async with self.sem:
            await asyncio.sleep(self.service_s)
            self.served += 1


async def _drive(gate: SiteGate, site: FakeSite, n: int, workers: int) -> float:
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            queue.pop()
            async with gate.slot("batch", 50):
                await site.request()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started


def test_window_grows_to_the_limit_while_latency_holds_and_never_exceeds_it() -> None:
    async def main() -> SiteGate:
        gate = SiteGate("s", 6)
        await _drive(gate, FakeSite(capacity=100, service_s=0.005), 200, workers=20)
        return gate

    gate = asyncio.run(main())
    assert gate.stats.max_in_flight == 6
    assert gate.window == 6


def test_window_settles_near_capacity_when_latency_climbs() -> None:
    async def main() -> tuple[SiteGate, float, float]:
        gate = SiteGate("s", 16)
        adaptive = await _drive(gate, FakeSite(4, 0.01), 300, workers=16)
        fixed = await _drive(SiteGate("f", 4, GateSettings(initial_window=4,
                                                            latency_tolerance=1e9)),
                             FakeSite(4, 0.01), 300, workers=16)
        return gate, adaptive, fixed

    gate, adaptive, fixed = asyncio.run(main())
    assert gate.stats.decreases >= 1
    assert gate.window < 16
    assert fixed / adaptive >= 0.85, (fixed, adaptive)


def test_overload_halves_the_window_once_per_episode() -> None:
    async def main() -> SiteGate:
        gate = SiteGate("s", 8, GateSettings(initial_window=8, breaker_threshold=100))

        async def fail() -> None:
            with pytest.raises(RetriableSiteError):
                async with gate.slot():
                    await asyncio.sleep(0.01)
                    raise RetriableSiteError("slow", status=429)

        await asyncio.gather(*(fail() for _ in range(8)))
        return gate

    gate = asyncio.run(main())
    assert gate.window == 4  # eight failures of one episode: one halving


def test_retry_after_pauses_the_whole_site() -> None:
    async def main() -> float:
        gate = SiteGate("s", 4)
        with pytest.raises(RetriableSiteError):
            async with gate.slot():
                raise RetriableSiteError("busy", status=429, retry_after=0.2)
        started = time.perf_counter()
        async with gate.slot():
            pass
        return time.perf_counter() - started

    assert asyncio.run(main()) >= 0.18


def test_breaker_opens_probes_and_closes_when_the_site_answers_again() -> None:
    async def main() -> SiteGate:
        settings = GateSettings(breaker_threshold=3, breaker_cooldown_s=0.05)
        gate = SiteGate("s", 4, settings)
        probes: list[bool] = []

        async def probe() -> None:
            probes.append(True)
            if len(probes) < 2:
                raise RetriableSiteError("still down", status=503)

        gate.set_probe(probe)
        for _ in range(3):
            with pytest.raises(RetriableSiteError):
                async with gate.slot():
                    raise RetriableSiteError("down", status=500)
        assert gate.state == "open"
        async with gate.slot():  # waits out two cooldowns and a failed probe
            pass
        assert probes == [True, True]
        return gate

    gate = asyncio.run(main())
    assert gate.state == "closed" and gate.stats.opened == 1 and gate.window <= 2


def test_breaker_gives_up_after_the_probe_budget_with_a_retriable_error() -> None:
    async def main() -> None:
        gate = SiteGate("s", 2, GateSettings(breaker_threshold=2, breaker_cooldown_s=0.01,
                                             probe_budget=2))

        async def probe() -> None:
            raise RetriableSiteError("down", status=503)

        gate.set_probe(probe)
        for _ in range(2):
            with pytest.raises(RetriableSiteError):
                async with gate.slot():
                    raise RetriableSiteError("down", status=503)
        with pytest.raises(CircuitOpenError) as info:
            async with gate.slot():
                pass
        assert info.value.exit_code == 4 and "circuit breaker" in str(info.value)

    asyncio.run(main())


def test_a_fatal_answer_proves_the_site_is_up() -> None:
    async def main() -> SiteGate:
        gate = SiteGate("s", 2, GateSettings(breaker_threshold=2))
        with pytest.raises(RetriableSiteError):
            async with gate.slot():
                raise RetriableSiteError("x", status=500)
        with pytest.raises(SiteError):
            async with gate.slot():
                raise SiteError("bad request", status=400)
        with pytest.raises(RetriableSiteError):
            async with gate.slot():
                raise RetriableSiteError("x", status=500)
        return gate

    assert asyncio.run(main()).state == "closed"


def test_a_gate_serves_successive_event_loops() -> None:
    gate = SiteGate("s", 1, GateSettings(initial_window=1))

    async def contend() -> None:
        async def one() -> None:
            async with gate.slot():
                await asyncio.sleep(0.001)

        await asyncio.gather(one(), one(), one())
        gate.pause(0.05)
        with pytest.raises(TimeoutError):  # given up while waiting: its loop ends with it
            await asyncio.wait_for(one(), 0.01)
        await asyncio.sleep(0.05)

    asyncio.run(contend())
    asyncio.run(contend())


def test_min_concurrency_equal_to_the_limit_pins_the_window() -> None:
    """`limits.min_concurrency` = `concurrency`: no growth, no backing off, whatever happens
    (how a benchmark measures a fixed concurrency against the adaptive one)."""
    from elementafeeds.config.models import Site

    site = Site.model_validate({"kind": "site", "name": "s", "url": "https://s.example",
                                "credentials": {"consumer_key": "${K}",
                                                "consumer_secret": "${S}"},
                                "limits": {"concurrency": 4, "min_concurrency": 4}})

    async def main() -> SiteGate:
        gate = SiteGate.from_site(site, GateSettings(breaker_threshold=100))
        assert gate.window == 4
        await _drive(gate, FakeSite(capacity=1, service_s=0.005), 60, workers=8)  # queueing
        with pytest.raises(RetriableSiteError):
            async with gate.slot():
                raise RetriableSiteError("busy", status=429)
        return gate

    gate = asyncio.run(main())
    assert gate.stats.decreases >= 1  # congestion was seen ...
    assert gate.window == 4 and set(gate.stats.windows) == {4}  # ... and changed nothing
    assert gate.stats.max_in_flight == 4


def test_min_concurrency_is_the_floor_of_backing_off_and_of_a_restart() -> None:
    async def main() -> SiteGate:
        gate = SiteGate("s", 8, GateSettings(initial_window=8, breaker_threshold=2,
                                             breaker_cooldown_s=0.01), floor=3)
        for _ in range(4):  # one halving per episode: 8 → 4 → 3 (not 2, not 1)
            with pytest.raises(RetriableSiteError):
                async with gate.slot():
                    raise RetriableSiteError("busy", status=503)
        assert gate.window == 3 and gate.state == "open"
        async with gate.slot():  # no probe registered: this request probes and closes
            pass
        return gate

    gate = asyncio.run(main())
    assert gate.state == "closed" and gate.window == 3
    assert min(gate.stats.windows) == 3


def test_min_concurrency_above_the_limit_is_a_configuration_error() -> None:
    from pydantic import ValidationError

    from elementafeeds.config.models import SiteLimits

    assert SiteLimits().min_concurrency == 1
    with pytest.raises(ValidationError, match="min_concurrency"):
        SiteLimits(concurrency=2, min_concurrency=3)
