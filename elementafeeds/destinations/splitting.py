"""A batch that keeps losing its answers is split in halves, down to single items.

Shared by the WooCommerce (`products/batch`) and WordPress (`/batch/v1`) writers. A lost answer
(timeout, dropped connection, 5xx, an HTML page: `AmbiguousSiteError`) may mean the site applied
the batch, so before the same items go again their creates are verified by identity. After
`policy.split_after` lost answers a multi-item batch is not tried again as a whole: each half
goes on its own (through the caller's `resend`, which may split again), so one poisonous item
(a huge image, a PHP fatal) ends up failing alone while the others land.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from elementafeeds.destinations.gate import CircuitOpenError
from elementafeeds.destinations.http import AmbiguousSiteError
from elementafeeds.destinations.retry import RetryPolicy, stop_when
from elementafeeds.errors import RetriableSiteError

log = logging.getLogger(__name__)
T = TypeVar("T")
A = TypeVar("A")


async def run_all(coros: Sequence[Coroutine[Any, Any, None]]) -> None:
    """Run concurrently; on the first error cancel the rest and raise that error."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def send_or_split(items: list[T], attempt: Callable[[list[T]], Awaitable[A]], *,
                        policy: RetryPolicy, what: str,
                        verify: Callable[[list[T]], Awaitable[None]],
                        resend: Callable[[list[T]], Awaitable[None]]) -> A | None:
    """Send `items` as one batch under `policy`: the answer, or None when they were split.

    `attempt(items)` makes one request and raises a classified SiteError. Items whose answer
    was lost are passed to `verify(items)` before they go again, whole or in halves (a split
    hands each half to `resend`). Raises the last RetriableSiteError when attempts run out
    without a lost answer to justify a split (429s, refused connections) or for a single
    item; any other SiteError at once.
    """
    lost = 0
    unverified = False  # an answer was lost since the last verify

    def split_now() -> bool:
        return len(items) > 1 and lost >= policy.split_after

    try:
        async for retry in policy.retrying(stop=stop_when(split_now), what=what):
            with retry:
                if unverified:
                    await verify(items)
                    unverified = False
                try:
                    return await attempt(items)
                except AmbiguousSiteError:
                    lost += 1
                    unverified = True
                    raise
    except CircuitOpenError:
        raise  # the site is down: splitting would only add requests
    except RetriableSiteError as exc:
        if len(items) == 1 or not lost:
            raise
        log.debug("splitting a batch of %d after: %s", len(items), exc)
        if unverified:
            await verify(items)
        half = len(items) // 2
        await run_all([resend(items[:half]), resend(items[half:])])
        return None
    raise AssertionError("unreachable: tenacity re-raises when it gives up")


__all__ = ["run_all", "send_or_split"]
