"""The state store on real SQLite files: schema, locks, ledger, runs, errors, the seen set."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from elementafeeds.errors import LockHeldError, StateError
from elementafeeds.state.records import Counters, ErrorRecord, LedgerWrite
from elementafeeds.state.schema import MIGRATIONS
from elementafeeds.state.seen import SeenSet
from elementafeeds.state.store import StateStore, utcnow


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    s = StateStore(tmp_path / "state.db")
    yield s
    s.close()


def test_schema_version_and_wal(store: StateStore) -> None:
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_reopening_keeps_data_and_does_not_migrate_twice(tmp_path: Path) -> None:
    first = StateStore(tmp_path / "s.db")
    first.start_run("c")
    first.close()
    second = StateStore(tmp_path / "s.db")
    assert len(second.list_runs("c")) == 1


def test_a_damaged_file_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="cannot use the state database"):
        StateStore(path)


def test_lock_is_exclusive_while_the_holder_lives(store: StateStore, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time; from pathlib import Path; from elementafeeds.state.store import "
         "StateStore; s=StateStore(Path(sys.argv[1])); s.acquire_lock('c'); print('ok', "
         "flush=True); sys.stdin.read()", str(store.path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(LockHeldError, match=f"pid {holder.pid}"):
            store.acquire_lock("c")
    finally:
        holder.kill()
        holder.wait()
    previous = store.acquire_lock("c")  # the holder died: taken over
    assert previous is not None and previous.pid == holder.pid


def test_takeover_marks_the_dead_run_failed(store: StateStore) -> None:
    store.acquire_lock("c")
    run = store.start_run("c")
    store.conn.execute("UPDATE locks SET pid = 999999999")  # a pid that does not exist
    store.acquire_lock("c")
    assert store.get_run(run.id).status == "failed"
    assert "interrupted" in store.get_run(run.id).error_summary


def test_ledger_upsert_lookup_touch(store: StateStore) -> None:
    run = store.start_run("c")
    now = utcnow()
    with store.transaction() as conn:
        store.write_ledger(conn, "c", run.id, [LedgerWrite("SKU-1", 10, {"core": "a"})], now)
    found = store.ledger_lookup("c", ["sku-1", "sku-2"])
    assert list(found) == ["sku-1"] and found["sku-1"].product_id == 10
    with store.transaction() as conn:
        store.mark_stale(conn, "c", ["sku-1"], "hide")
    assert store.ledger_lookup("c", ["sku-1"])["sku-1"].stale_action == "hide"
    with store.transaction() as conn:  # seen again: the stale mark goes
        store.write_ledger(conn, "c", run.id, [LedgerWrite("SKU-1", 10, {"core": "b"})], now)
    entry = store.ledger_lookup("c", ["sku-1"])["sku-1"]
    assert entry.stale_action is None and entry.hashes == {"core": "b"}
    store.touch_seen("c", run.id, ["sku-1"], "2030-01-01T00:00:00+00:00")
    assert store.ledger_lookup("c", ["sku-1"])["sku-1"].last_seen_at.startswith("2030")


def test_errors_are_capped_per_run(store: StateStore) -> None:
    run = store.start_run("c")
    with store.transaction() as conn:
        store.add_errors(conn, run.id, [ErrorRecord("map", f"e{i}") for i in range(10)], cap=3)
        store.add_errors(conn, run.id, [ErrorRecord("map", "more")], cap=3)
    assert [e["message"] for e in store.run_errors(run.id)] == ["e0", "e1", "e2"]


def test_finish_and_evidence(store: StateStore) -> None:
    done = store.start_run("c")
    store.finish_run(done.id, "completed", Counters(records=3, created=3), complete_read=True,
                     error_summary=None)
    limited = store.start_run("c", limited=True)
    store.finish_run(limited.id, "completed", Counters(), complete_read=False, error_summary=None)
    failed = store.start_run("c")
    store.finish_run(failed.id, "failed", Counters(), complete_read=False, error_summary="x")
    assert store.latest_completed_run("c").id == done.id
    assert store.last_runs()["c"].id == failed.id
    assert store.get_run(done.id).counters.created == 3


def test_rollback_leaves_nothing(store: StateStore) -> None:
    run = store.start_run("c")
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            store.write_ledger(conn, "c", run.id, [LedgerWrite("a", 1, {})], utcnow())
            raise RuntimeError("boom")
    assert store.ledger_size("c") == 0


def test_concurrent_writers_wait_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    StateStore(path).close()
    script = (
        "import sys; from pathlib import Path; from elementafeeds.state.store import StateStore;"
        "s=StateStore(Path(sys.argv[1]));"
        "[s.start_run('c') for _ in range(50)]"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)],
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e for e in errors)
    assert sqlite3.connect(path).execute("SELECT count(*) FROM runs").fetchone()[0] == 200


def test_seen_set_flags_duplicates_across_chunks(tmp_path: Path) -> None:
    seen = SeenSet(tmp_path / "seen.db")
    assert seen.add(["a", "b", "a"]) == [False, False, True]
    assert seen.add(["c", "b", "sku-\udcff"]) == [False, True, False]  # undecodable bytes too
    assert seen.add(["sku-\udcff"]) == [True]
    seen.close()


@pytest.mark.parametrize("max_slots", [1 << 20, 1 << 11])
def test_seen_set_grows_then_spills_to_disk_and_stays_exact(tmp_path: Path,
                                                            max_slots: int) -> None:
    seen = SeenSet(tmp_path / "seen.db", max_slots=max_slots)
    keys = [f"sku-{i}" for i in range(5000)]
    flags = []
    for start in range(0, 10_000, 250):  # every key twice, the repeats 5000 records later
        flags += seen.add((keys + keys)[start:start + 250])
    assert flags == [False] * 5000 + [True] * 5000
    assert (tmp_path / "seen.db").exists() == (max_slots < 5000)  # the full table spilled
    assert seen.add(["sku-4999", "new", "new"]) == [True, False, True]
    assert seen.duplicates(["x", "sku-7", "x", "new"]) == [1, 2, 3]  # in order, spilled or not
    seen.close()
    assert not (tmp_path / "seen.db").exists()
