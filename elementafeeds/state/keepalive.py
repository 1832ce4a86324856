"""Keeping a held connection lock alive while its holder works.

On its own host a lock's holder is judged by its pid; from another host (two machines
sharing a state directory) only by its heartbeat, which counts as dead after
`HEARTBEAT_STALE_S`. So a holder refreshes the heartbeat every `HEARTBEAT_EVERY_S` while it
runs — also while it only waits on a slow site — or a run longer than two minutes would be
taken over from the other host and the connection run twice at once.
"""

from __future__ import annotations

import asyncio
import sqlite3

from elementafeeds.state.store import HEARTBEAT_STALE_S, StateStore

HEARTBEAT_EVERY_S = HEARTBEAT_STALE_S / 4


def keep_alive(store: StateStore, connection: str,
               every: float | None = None) -> asyncio.Task[None]:
    """Refresh the lock's heartbeat in the background until the task is cancelled."""

    async def beat() -> None:
        interval = HEARTBEAT_EVERY_S if every is None else every
        while True:
            await asyncio.sleep(interval)
            try:
                store.heartbeat(connection)
            except sqlite3.Error:  # busy beyond the timeout: the next beat tries again
                pass

    return asyncio.create_task(beat(), name=f"heartbeat {connection}")
