"""Retries with exponential backoff and full jitter (tenacity), on retriable site errors only.

A 4xx is never retried: the same request would be refused again. A `Retry-After` header is a
floor for the wait (capped by `max_retry_after_s`, so a hostile or confused host cannot park a
run for a day). Attempts and total time are bounded; tests pass a policy with tiny waits.
The circuit breaker's verdict (`CircuitOpenError`) is final for the attempt loop: the breaker
already spent its own probe budget.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from elementafeeds.destinations.gate import CircuitOpenError
from elementafeeds.errors import RetriableSiteError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request (or one batch at one split level) is retried."""

    attempts: int = 6
    """Attempts in all, the first one included."""
    initial_s: float = 1.0
    """Backoff scale: the n-th wait is uniform in [0, initial_s · 2^n] (full jitter)."""
    max_backoff_s: float = 60.0
    max_total_s: float = 600.0
    """No new attempt starts after this long."""
    max_retry_after_s: float = 300.0
    """The longest Retry-After honoured; a longer one is cut to this."""
    split_after: int = 2
    """Failed attempts (timeouts, 5xx) after which a multi-item batch is split in halves."""

    def wait_s(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(multiplier=self.initial_s, max=self.max_backoff_s)(
            state
        )
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return max(backoff, min(float(retry_after), self.max_retry_after_s))
        return backoff

    def retrying(
        self, *, attempts: int | None = None, stop: stop_base | None = None, what: str = ""
    ) -> AsyncRetrying:
        """A tenacity loop (`async for attempt in policy.retrying(): with attempt: …`) that
        re-raises the last error when it gives up."""
        stops = stop_after_attempt(attempts or self.attempts) | stop_after_delay(
            self.max_total_s
        )
        if stop is not None:
            stops = stops | stop

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            # Exception texts are built secret-free at the HTTP boundary.
            log.debug("retry %s %s in %.2fs after: %s", what, state.attempt_number, wait, exc)

        return AsyncRetrying(
            retry=retry_if_exception(is_retriable),
            stop=stops,
            wait=self.wait_s,
            reraise=True,
            before_sleep=before_sleep,
        )

    async def call(self, fn: Callable[[], Awaitable[T]], *, what: str = "") -> T:
        """Run `fn` under this policy (for idempotent requests: reads, term creation)."""
        async for attempt in self.retrying(what=what):
            with attempt:
                return await fn()
        raise AssertionError("unreachable: tenacity re-raises when it gives up")


class stop_when(stop_base):  # named like tenacity's own stop conditions
    """Stop when `predicate()` says so (e.g. a batch has timed out often enough to split)."""

    def __init__(self, predicate: Callable[[], bool]) -> None:
        self._predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._predicate()


def is_retriable(exc: BaseException) -> bool:
    return isinstance(exc, RetriableSiteError) and not isinstance(exc, CircuitOpenError)


FAST = RetryPolicy(attempts=4, initial_s=0.01, max_backoff_s=0.05, max_total_s=10.0,
                   max_retry_after_s=2.0)
"""A policy for tests and the sandbox: same logic, millisecond waits."""
