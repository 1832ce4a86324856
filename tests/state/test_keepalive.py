"""A held lock's heartbeat is refreshed while its holder works, so another host does not
take over a long run (runs and reconciles keep theirs alive: tests/pipeline/test_run.py)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from elementafeeds.errors import LockHeldError
from elementafeeds.state import keepalive
from elementafeeds.state.keepalive import keep_alive
from elementafeeds.state.store import StateStore

OLD = "2020-01-01T00:00:00.000+00:00"


def _as_other_host(store: StateStore, connection: str) -> None:
    """Make the lock look held from another host whose last heartbeat is long gone."""
    store.conn.execute("UPDATE locks SET host = 'elsewhere', heartbeat_at = ? "
                       "WHERE connection = ?", (OLD, connection))


def test_a_held_lock_is_kept_alive_until_the_task_stops(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.acquire_lock("c")

    async def hold() -> None:
        _as_other_host(store, "c")
        beating = keep_alive(store, "c", every=0)
        store.conn.execute("UPDATE locks SET host = ? WHERE connection = 'c'",
                           (socket.gethostname(),))
        for _ in range(5):
            await asyncio.sleep(0)
        beating.cancel()

    asyncio.run(hold())
    beat = store.conn.execute("SELECT heartbeat_at FROM locks").fetchone()[0]
    assert beat > OLD
    other = StateStore(tmp_path / "state.db")
    other.conn.execute("UPDATE locks SET host = 'elsewhere'")
    with pytest.raises(LockHeldError, match="elsewhere"):  # fresh: not taken over
        other.acquire_lock("c")
    _as_other_host(other, "c")
    assert other.acquire_lock("c") is not None  # stale: taken over
