"""`ef reconcile` against the sandbox: evidence, the share guard, restore on return."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from elementafeeds.config.loader import load_workspace
from tests.pipeline.conftest import ef, write_feed

FEED_SIZE = 120


def reconcile(root: Path, *args: str) -> tuple[int, dict]:
    result = ef(root, "reconcile", "shop-feed", "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)["connections"][0]


def visibility(sandbox) -> dict[str, str]:
    return {p["sku"]: p["catalog_visibility"] for p in sandbox.products()}


def first_run(root: Path) -> None:
    assert ef(root, "run", "shop-feed").returncode == 0


def test_products_gone_from_the_feed_are_hidden_and_the_rest_untouched(workspace, sandbox):
    first_run(workspace)
    gone = {5, 17, 33, 60, 99, 101}  # 5 %
    write_feed(workspace / "feeds" / "products.csv", FEED_SIZE, skip=gone)
    assert ef(workspace, "run", "shop-feed").returncode == 0
    code, dry = reconcile(workspace, "--dry-run")
    assert code == 0 and dry["stale"] == 6 and dry["applied"] == 0
    assert {i["sku"] for i in dry["items"]} == {f"t-P{i:05d}" for i in gone}
    assert "hidden" not in visibility(sandbox).values()
    code, done = reconcile(workspace)
    assert code == 0 and done["applied"] == 6
    hidden = {sku for sku, v in visibility(sandbox).items() if v == "hidden"}
    assert hidden == {f"t-P{i:05d}" for i in gone}
    code, again = reconcile(workspace)  # already done: nothing more to do
    assert again["stale"] == 0


def test_a_feed_that_lost_90_percent_is_refused_unless_forced(workspace, sandbox):
    first_run(workspace)
    write_feed(workspace / "feeds" / "products.csv", FEED_SIZE, skip=set(range(12, FEED_SIZE)))
    assert ef(workspace, "run", "shop-feed").returncode == 0
    code, refused = reconcile(workspace)
    assert code == 1 and refused["refused"] and "max_share" in refused["refused"]
    assert refused["applied"] == 0 and "hidden" not in visibility(sandbox).values()
    code, forced = reconcile(workspace, "--force")
    assert code == 0 and forced["applied"] == 108


def test_a_failed_run_is_no_evidence(workspace, sandbox):
    first_run(workspace)
    feed = workspace / "feeds" / "products.csv"
    feed.write_text("<html><body>Service unavailable</body></html>")
    failed = ef(workspace, "run", "shop-feed", "--json")
    assert json.loads(failed.stdout)["runs"][0]["status"] == "failed"
    code, verdict = reconcile(workspace)
    assert code == 0 and verdict["stale"] == 0


def test_a_limited_run_is_no_evidence(workspace, sandbox):
    first_run(workspace)
    assert ef(workspace, "run", "shop-feed", "--limit", "10", "--force").returncode == 1
    code, verdict = reconcile(workspace)
    assert verdict["stale"] == 0


def test_a_product_that_returns_is_restored(workspace, sandbox):
    first_run(workspace)
    write_feed(workspace / "feeds" / "products.csv", FEED_SIZE, skip={7})
    ef(workspace, "run", "shop-feed")
    reconcile(workspace)
    assert visibility(sandbox)["t-P00007"] == "hidden"
    write_feed(workspace / "feeds" / "products.csv", FEED_SIZE)
    result = json.loads(ef(workspace, "run", "shop-feed", "--json").stdout)["runs"][0]
    assert result["updated"] == 1
    assert visibility(sandbox)["t-P00007"] == "visible"


def backdate(root: Path, sandbox, days: int) -> None:
    """Make the first run and every sighting `days` old, in the ledger and in the site's meta."""
    import asyncio
    import sqlite3
    from datetime import datetime, timedelta, timezone

    from elementafeeds.config.loader import load_workspace
    from elementafeeds.destinations.base import WriteOp
    from elementafeeds.destinations.gate import GateRegistry
    from elementafeeds.destinations.registry import open_destination

    then = datetime.now(timezone.utc) - timedelta(days=days)
    db = sqlite3.connect(root / ".ef" / "state.db")
    with db:
        db.execute("UPDATE ledger SET last_seen_at = ?, site_seen_at = ?",
                   (then.isoformat(), then.isoformat()))
        db.execute("UPDATE runs SET started_at = ?", (then.isoformat(),))
    site = load_workspace(root).sites["shop"]
    ops = [WriteOp("update", p["sku"], {"meta_data": [
        {"key": "_elementa_last_seen_timestamp", "value": str(int(then.timestamp()))}]}, p["id"])
        for p in sandbox.products()]

    async def write() -> None:
        async with open_destination(site, GateRegistry().for_site(site)) as destination:
            results = await destination.write(ops)
            assert all(r.status == "updated" for r in results)

    asyncio.run(write())


def test_from_site_without_a_ledger_gives_the_same_answer(workspace, sandbox, monkeypatch):
    config = workspace / "connections" / "all.yaml"
    config.write_text(config.read_text().replace("after_days: 0", "after_days: 1"))
    first_run(workspace)
    backdate(workspace, sandbox, days=5)
    gone = {2, 40, 77}
    write_feed(workspace / "feeds" / "products.csv", FEED_SIZE, skip=gone)
    assert ef(workspace, "run", "shop-feed").returncode == 0
    _, ledger = reconcile(workspace, "--dry-run")
    (workspace / ".ef" / "state.db").unlink()
    _, site = reconcile(workspace, "--dry-run", "--from-site")
    expected = {f"t-P{i:05d}" for i in gone}
    assert {i["sku"] for i in ledger["items"]} == expected
    assert {i["sku"] for i in site["items"]} == expected
    assert site["total"] == ledger["total"] == FEED_SIZE


def test_reconcile_exits_3_while_a_run_holds_the_lock(workspace, sandbox):
    """A run must not have its ledger marked stale while it reads the feed."""
    from elementafeeds.config.loader import load_workspace
    from elementafeeds.state.store import StateStore

    first_run(workspace)
    write_feed(workspace / "feeds" / "products.csv", FEED_SIZE, skip={5})
    assert ef(workspace, "run", "shop-feed").returncode == 0
    store = StateStore(load_workspace(workspace).state_path)
    store.acquire_lock("shop-feed")  # held by this (live) test process
    try:
        code, report = reconcile(workspace)
        assert code == 3 and "being run by pid" in report["error"]
        assert "hidden" not in visibility(sandbox).values()
        code, dry = reconcile(workspace, "--dry-run")  # reading needs no lock
        assert code == 0 and dry["stale"] == 1
    finally:
        store.release_lock("shop-feed")
        store.close()
    code, done = reconcile(workspace)
    assert code == 0 and done["applied"] == 1


def test_a_dead_holders_lock_is_taken_over_with_a_warning(workspace, sandbox):
    first_run(workspace)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # a pid now dead
    state = load_workspace(workspace).state_path
    long_ago = "2026-01-01T00:00:00.000+00:00"

    def dead_holder() -> None:
        with sqlite3.connect(state) as db:
            db.execute("INSERT OR REPLACE INTO locks VALUES ('shop-feed', NULL, ?, ?, ?, ?)",
                       (int(gone), socket.gethostname(), long_ago, long_ago))

    note = f"took over the lock of pid {gone} on"
    dead_holder()
    code, done = reconcile(workspace)
    assert code == 0 and any(note in w for w in done["warnings"])
    dead_holder()
    result = ef(workspace, "run", "shop-feed", "--json")
    run = json.loads(result.stdout)["runs"][0]
    assert result.returncode == 0 and any(note in w for w in run["warnings"])
    dead_holder()
    result = ef(workspace, "reconcile", "shop-feed")
    assert result.returncode == 0 and f"warning: shop-feed: {note}" in result.stderr
