"""Per-site admission: adaptive concurrency (AIMD) and a circuit breaker.

One `SiteGate` per site per process, shared by every connection (and every destination
object) that writes to that site, so `limits.concurrency` is the site's limit, not each
connection's. Every HTTP request to the site passes through `gate.slot()`.

Concurrency ("window") adapts between `limits.min_concurrency` (default 1; equal to the
maximum pins the window) and `limits.concurrency`, like TCP congestion control: it
grows while the window is in use and the site's latency holds (doubling until the first sign
of congestion, then +1 per window's worth of answers), shrinks ×0.8 when smoothed latency
climbs past `latency_tolerance` × its baseline (requests are queueing in PHP workers) and
halves on timeouts, 429 and gateway errors. One congestion episode shrinks it once: only a
request started after the last decrease can decrease it again.

The breaker opens after `breaker_threshold` consecutive retriable failures; writes then wait.
After a cooldown one probe (a cheap GET registered by the destination, or else the next
request itself) decides: success closes the breaker and the window restarts from its floor;
failure doubles the cooldown. After `probe_budget` failed probes every waiting and future request
raises `CircuitOpenError` (a RetriableSiteError), so the run ends partial rather than hanging.
A Retry-After answer pauses the whole site, not only the request that got it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

from elementafeeds.config.models import Site
from elementafeeds.errors import RetriableSiteError, SiteError

OVERLOAD_STATUS = frozenset({429, 502, 503, 504, 520, 521, 522, 523, 524})


class CircuitOpenError(RetriableSiteError):
    """The site stayed down through every probe: stop writing, end the run partial."""


@dataclass(frozen=True)
class GateSettings:
    initial_window: int = 2
    latency_tolerance: float = 1.5
    """Smoothed latency above tolerance × baseline (per request kind and size) = congestion."""
    latency_backoff: float = 0.8
    overload_backoff: float = 0.5
    min_samples: int = 3
    """Answers of a kind and size before its latency is judged."""
    baseline_drift: float = 0.0005
    """Per answer, the baseline may creep up this much: a site that got slower for good is
    re-learnt rather than throttled forever."""
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 10.0
    breaker_max_cooldown_s: float = 120.0
    probe_budget: int = 4
    max_pause_s: float = 300.0


@dataclass
class Ticket:
    """One admitted request; carries what its release needs."""

    kind: str
    size: int
    started_at: float
    window_full: bool
    probe: bool = False


@dataclass
class _Latency:
    ewma: float = 0.0
    baseline: float = math.inf
    n: int = 0

    def add(self, sample: float, drift: float) -> None:
        self.ewma = sample if self.n == 0 else 0.7 * self.ewma + 0.3 * sample
        self.baseline = min(self.baseline * (1 + drift), self.ewma)
        self.n += 1


@dataclass
class GateStats:
    max_in_flight: int = 0
    max_window: int = 0
    decreases: int = 0
    opened: int = 0
    probes: int = 0
    requests: int = 0
    windows: deque[int] = field(default_factory=lambda: deque(maxlen=1000))
    """The window after each of the last 1000 answers (for tests and measurements)."""


class SiteGate:
    """Admission control for one site. Single event loop; not thread-safe by design."""

    def __init__(self, name: str, limit: int, settings: GateSettings | None = None,
                 *, floor: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.limit = max(1, limit)
        self.floor = min(self.limit, max(1, floor))
        """The window never shrinks below this (`limits.min_concurrency`)."""
        self.settings = s = settings or GateSettings()
        self._clock = clock
        self._cwnd = float(min(self.limit, max(self.floor, s.initial_window)))
        self._ssthresh = float(self.limit)
        self._in_flight = 0
        self._last_decrease = -math.inf
        self._latency: dict[tuple[str, int], _Latency] = {}
        self._failures = 0
        self.state: Literal["closed", "open", "dead"] = "closed"
        self._opened_at = 0.0
        self._cooldown = s.breaker_cooldown_s
        self._failed_probes = 0
        self._probing = False
        self._paused_until = 0.0
        self._probe: Callable[[], Awaitable[object]] | None = None
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stats = GateStats()

    @classmethod
    def from_site(cls, site: Site, settings: GateSettings | None = None) -> SiteGate:
        return cls(site.name, site.limits.concurrency, settings,
                   floor=site.limits.min_concurrency)

    def __repr__(self) -> str:
        return (f"SiteGate({self.name!r}, window={self.window}/{self.limit}, "
                f"in_flight={self._in_flight}, state={self.state})")

    @property
    def window(self) -> int:
        return max(self.floor, min(self.limit, int(self._cwnd)))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def set_probe(self, probe: Callable[[], Awaitable[object]]) -> None:
        """A cheap, idempotent request (a GET) that tells whether the site answers again."""
        if self._probe is None:
            self._probe = probe

    def remove_probe(self, probe: Callable[[], Awaitable[object]]) -> None:
        """Forget `probe` (its destination is closing); another destination may register."""
        if self._probe == probe:
            self._probe = None

    def pause(self, seconds: float) -> None:
        """Admit nothing for `seconds` (a Retry-After answer), capped by `max_pause_s`."""
        until = self._clock() + min(max(0.0, seconds), self.settings.max_pause_s)
        self._paused_until = max(self._paused_until, until)

    def reset(self) -> None:
        """Forget a dead verdict (a new run in a long-lived process)."""
        self.state, self._failures, self._failed_probes = "closed", 0, 0
        self._cooldown = self.settings.breaker_cooldown_s
        self._notify()

    @asynccontextmanager
    async def slot(self, kind: str = "write", size: int = 1) -> AsyncIterator[Ticket]:
        """Hold one of the site's request slots for the duration of one HTTP request."""
        ticket = await self._acquire(kind, size)
        try:
            yield ticket
        except BaseException as exc:
            self._release(ticket, exc)
            raise
        self._release(ticket, None)

    # -- admission ----------------------------------------------------------------------------

    async def _acquire(self, kind: str, size: int) -> Ticket:
        while True:
            if self.state == "dead":
                raise self._dead_error()
            now = self._clock()
            if self.state == "open":
                remaining = self._opened_at + self._cooldown - now
                if remaining > 0 or self._probing:
                    await self._wait(remaining if remaining > 0 else None)
                elif self._probe is not None:
                    await self._run_probe()
                else:  # no probe registered: this request is the probe
                    self._probing = True
                    return self._admit(kind, size, probe=True)
                continue
            if self._paused_until > now:
                await self._wait(self._paused_until - now)
                continue
            if self._in_flight < self.window:
                return self._admit(kind, size)
            await self._wait(None)

    def _admit(self, kind: str, size: int, probe: bool = False) -> Ticket:
        self._in_flight += 1
        self.stats.requests += 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
        return Ticket(kind, max(1, size), self._clock(), self._in_flight >= self.window, probe)

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a gate that outlives one asyncio.run() serves the next
            self._loop, self._changed = loop, asyncio.Event()
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _run_probe(self) -> None:
        assert self._probe is not None
        self._probing = True
        self.stats.probes += 1
        ok = True
        try:
            await self._probe()
        except RetriableSiteError:
            ok = False
        except SiteError:
            pass  # the site answers (e.g. 401): let the real request report it
        finally:
            self._probing = False
            self._notify()  # a cancelled prober must not strand the others
        if ok:
            self._close()
        else:
            self._probe_failed()
        self._notify()

    # -- outcomes -------------------------------------------------------------------------------

    def _release(self, ticket: Ticket, exc: BaseException | None) -> None:
        self._in_flight -= 1
        if ticket.probe:
            self._probing = False
        if exc is None:
            self._succeeded(ticket)
        elif isinstance(exc, RetriableSiteError) and not isinstance(exc, CircuitOpenError):
            self._failed(ticket, exc)
        elif isinstance(exc, SiteError):
            self._failures = 0  # a 4xx proves the site answers
            if ticket.probe:
                self._close()
        self.stats.windows.append(self.window)
        self.stats.max_window = max(self.stats.max_window, self.window)
        self._notify()

    def _succeeded(self, ticket: Ticket) -> None:
        self._failures = 0
        if ticket.probe or self.state == "open":
            self._close()
            return
        now = self._clock()
        s = self.settings
        lat = self._latency.setdefault((ticket.kind, ticket.size.bit_length()), _Latency())
        lat.add(now - ticket.started_at, s.baseline_drift)
        if lat.n >= s.min_samples and lat.ewma > s.latency_tolerance * lat.baseline:
            if ticket.started_at >= self._last_decrease:
                self._decrease(s.latency_backoff)
        elif ticket.window_full:
            self._cwnd += 1.0 if self._cwnd < self._ssthresh else 1.0 / self._cwnd
            self._cwnd = min(self._cwnd, float(self.limit))

    def _failed(self, ticket: Ticket, exc: RetriableSiteError) -> None:
        self._failures += 1
        if exc.retry_after:
            self.pause(exc.retry_after)
        overload = exc.code == "site_timeout" or exc.status in OVERLOAD_STATUS
        if overload and ticket.started_at >= self._last_decrease:
            self._decrease(self.settings.overload_backoff)
        if ticket.probe:
            self._probe_failed()
        elif self.state == "closed" and self._failures >= self.settings.breaker_threshold:
            self.state = "open"
            self._opened_at = self._clock()
            self.stats.opened += 1

    def _decrease(self, factor: float) -> None:
        self._cwnd = max(float(self.floor), self._cwnd * factor)
        self._ssthresh = self._cwnd
        self._last_decrease = self._clock()
        self.stats.decreases += 1

    def _close(self) -> None:
        if self.state != "closed":
            self.state = "closed"
            self._cwnd = float(self.floor)
            self._ssthresh = max(float(self.floor), self._ssthresh)
            self._last_decrease = self._clock()
        self._failures, self._failed_probes = 0, 0
        self._cooldown = self.settings.breaker_cooldown_s

    def _probe_failed(self) -> None:
        self._failed_probes += 1
        if self._failed_probes >= self.settings.probe_budget:
            self.state = "dead"
            return
        self.state = "open"
        self._opened_at = self._clock()
        self._cooldown = min(self._cooldown * 2, self.settings.breaker_max_cooldown_s)

    def _dead_error(self) -> CircuitOpenError:
        return CircuitOpenError(
            f"site {self.name}: stopped writing, the site failed {self._failed_probes} probes "
            "after repeated errors (circuit breaker open)",
            hint="the site is down or overloaded; the run ends partial and the next run "
            "resumes where it stopped",
            code="circuit_open",
        )


class GateRegistry:
    """The process's gates, one per site URL: connections that share a site share its gate.

    Create it inside the running event loop of the run (gates hold asyncio events)."""

    def __init__(self, settings: GateSettings | None = None) -> None:
        self._settings = settings
        self._gates: dict[str, SiteGate] = {}

    def for_site(self, site: Site) -> SiteGate:
        key = site.url.lower()
        if key not in self._gates:
            self._gates[key] = SiteGate.from_site(site, self._settings)
        return self._gates[key]
