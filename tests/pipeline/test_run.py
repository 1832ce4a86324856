"""`ef run` against the sandbox over HTTP with real SQLite files and real subprocesses."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from elementafeeds.config.loader import load_workspace
from elementafeeds.destinations.base import WriteOp
from elementafeeds.destinations.gate import GateRegistry
from elementafeeds.destinations.registry import open_destination
from tests.pipeline.conftest import ef, write_feed


def run_json(root: Path, *args: str, env: dict | None = None) -> tuple[int, dict]:
    result = ef(root, "run", "shop-feed", "--json", *args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)["runs"][0]


def assert_one_per_sku(sandbox, expected: int) -> None:
    products = [p for p in sandbox.products() if p["status"] != "trash"]
    skus = Counter(p["sku"].lower() for p in products)
    assert max(skus.values(), default=1) == 1, [s for s, n in skus.items() if n > 1]
    assert len(skus) == expected


def writes(sandbox) -> int:
    counts = sandbox.request_counts()["by_route"]
    return sum(n for route, methods in counts.items() if "products" in route
               for method, n in methods.items() if method in ("POST", "PUT", "PATCH", "DELETE"))


def test_first_run_creates_second_makes_no_writes(workspace: Path, sandbox) -> None:
    code, run = run_json(workspace)
    assert code == 0 and run["status"] == "completed"
    assert (run["records"], run["created"], run["failed"]) == (120, 120, 0)
    assert_one_per_sku(sandbox, 120)
    product = sandbox.products(sku="t-P00001")[0]
    assert product["type"] == "external" and product["regular_price"] == "11.90"
    meta = {m["key"]: m["value"] for m in product["meta_data"]}
    assert meta["_elementa_feed_connection_id"] == "shop-feed"
    before = writes(sandbox)
    code, run = run_json(workspace, "--force")
    assert code == 0 and run["unchanged"] == 120 and run["created"] == run["updated"] == 0
    assert writes(sandbox) == before


def test_changed_prices_update_only_those(workspace: Path, sandbox) -> None:
    run_json(workspace)
    write_feed(workspace / "feeds" / "products.csv", 120, price_bump={3, 7, 11})
    code, run = run_json(workspace)
    assert (run["updated"], run["unchanged"], run["created"]) == (3, 117, 0)
    assert sandbox.products(sku="t-P00003")[0]["regular_price"] == "18.90"


def test_dry_run_writes_nothing(workspace: Path, sandbox) -> None:
    code, run = run_json(workspace, "--dry-run")
    assert code == 0 and run["created"] == 120
    assert sandbox.products() == []


def test_dry_run_leaves_the_ledger_as_it_was(workspace: Path, sandbox) -> None:
    """Unchanged products of a dry run are not 'seen': a dry run is no evidence for reconcile."""
    run_json(workspace)
    db = workspace / ".ef" / "state.db"
    query = "SELECT sku_key, last_run_id, last_seen_at FROM ledger ORDER BY sku_key"
    before = sqlite3.connect(db).execute(query).fetchall()
    code, run = run_json(workspace, "--dry-run", "--force")
    assert code == 0 and run["unchanged"] == 120
    assert sqlite3.connect(db).execute(query).fetchall() == before


def test_lost_state_file_creates_no_duplicates(workspace: Path, sandbox) -> None:
    """After a lost state file the products are found on the site by SKU, and diffed against
    the hashes they were written with: a changed one is updated, an unchanged one only gets
    its last-seen meta, and the ledger is whole again."""
    run_json(workspace)
    (workspace / ".ef" / "state.db").unlink()
    write_feed(workspace / "feeds" / "products.csv", 120, price_bump={3, 7})
    code, run = run_json(workspace)
    assert code == 0 and (run["created"], run["updated"], run["unchanged"]) == (0, 2, 118)
    assert sandbox.products(sku="t-P00003")[0]["regular_price"] == "18.90"
    assert_one_per_sku(sandbox, 120)
    before = writes(sandbox)
    code, run = run_json(workspace, "--force")
    assert code == 0 and run["unchanged"] == 120 and writes(sandbox) == before


def test_a_lost_state_file_updates_in_full_what_the_site_cannot_vouch_for(workspace: Path,
                                                                       sandbox) -> None:
    """Products another connection wrote (or written before their hashes were kept) carry no
    hashes of this connection: they are updated in full, as before."""
    run_json(workspace)
    (workspace / ".ef" / "state.db").unlink()
    conn = workspace / "connections" / "all.yaml"
    conn.write_text(conn.read_text().replace("name: shop-feed", "name: other-feed"))
    result = ef(workspace, "run", "other-feed", "--json")
    run = json.loads(result.stdout)["runs"][0]
    assert (run["created"], run["updated"], run["unchanged"]) == (0, 120, 0)
    assert_one_per_sku(sandbox, 120)


def test_gateway_timeouts_after_apply_create_no_duplicates(workspace: Path, sandbox) -> None:
    sandbox.set_faults({"gateway_timeout_after": {"rate": 0.2, "methods": "writes"}}, seed=4)
    code, run = run_json(workspace)
    assert code == 0, run
    assert run["created"] + run["updated"] == 120 and run["failed"] == 0
    assert_one_per_sku(sandbox, 120)


def test_rate_limits_and_server_errors_recover(workspace: Path, sandbox) -> None:
    sandbox.set_faults({"rate_limit": {"rate": 0.2, "retry_after": 0},
                        "server_error": {"rate": 0.15}}, seed=2)
    code, run = run_json(workspace)
    assert code == 0 and run["created"] == 120
    assert_one_per_sku(sandbox, 120)


def test_wrong_credentials_fail_the_run_with_exit_4(workspace: Path, sandbox) -> None:
    code, run = run_json(workspace, env={"T_SECRET": "not-the-secret"})
    assert code == 4 and run["status"] == "failed"
    assert "not-the-secret" not in json.dumps(run)


def test_counts_add_up_with_duplicates_and_bad_records(workspace: Path, sandbox) -> None:
    feed = workspace / "feeds" / "products.csv"
    write_feed(feed, 10)
    with feed.open("a", encoding="utf-8") as f:
        f.write("P00001,Again,12,Koti,https://aff.example/x,Red,yes\n")   # duplicate SKU
        f.write("P00099,No price,,Koti,https://aff.example/y,Red,yes\n")  # missing price
        f.write("P00098,Elsewhere,12,Lelut,https://aff.example/z,Red,yes\n")  # unmapped
    code, run = run_json(workspace)
    assert code == 1
    total = sum(run[k] for k in ("created", "updated", "unchanged", "skipped", "failed"))
    assert total == run["records"] == 13
    assert run["failed"] == 2
    errors = json.loads(ef(workspace, "errors", str(run["id"]), "--json").stdout)["errors"]
    assert {e["code"] for e in errors} >= {"duplicate_sku"}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_dry_run_counts_new_products_and_fails_their_repeats(workspace: Path, sandbox,
                                                              workers: str) -> None:
    feed = workspace / "feeds" / "products.csv"
    write_feed(feed, 10)
    with feed.open("a", encoding="utf-8") as f:
        f.write("p00001,Again,12,Koti,https://aff.example/x,Red,yes\n")  # another case
        f.write("P00011,New,12,Koti,https://aff.example/y,Red,yes\n")
        f.write("P00011,Same chunk,12,Koti,https://aff.example/z,Red,yes\n")
    args = ("--dry-run", "--workers", workers, "--chunk-size", "4")
    code, run = run_json(workspace, *args)
    assert code == 1 and writes(sandbox) == 0
    assert (run["records"], run["created"], run["failed"]) == (13, 11, 2)
    errors = json.loads(ef(workspace, "errors", str(run["id"]), "--json").stdout)["errors"]
    assert [(e["code"], e["sku"], e["record"]) for e in errors] == [
        ("duplicate_sku", "t-p00001", 11), ("duplicate_sku", "t-P00011", 13)]
    code, run = run_json(workspace, *args, "--limit", "12")
    assert (run["records"], run["created"], run["failed"]) == (12, 11, 1)


def test_due_runs_the_enabled_connections_their_schedule_says_are_due(workspace: Path,
                                                                     sandbox) -> None:
    """One cron line for the whole workspace: `ef run --due` runs a scheduled connection that
    never ran, then not again before its time; never an unscheduled or a disabled one."""
    from datetime import datetime, timedelta, timezone

    from elementafeeds.config.loader import load_workspace
    from elementafeeds.pipeline.orchestrate import Selection, select_connections
    from elementafeeds.state.store import StateStore

    body = """
feed: feed
site: shop
product_type: deal
fields: {name: "{product_name}", regular_price: "{search_price}",
         external_url: "{aw_deep_link}"}
categories: {source: merchant_category, map: {"Koti": [Koti], "Vaatteet": [Vaatteet]}}
"""
    (workspace / "connections" / "more.yaml").write_text(
        'kind: connection\nname: nightly\nsku: "n-{merchant_product_id}"\n'
        'schedule: "0 4 * * *"\n' + body + "---\n"
        'kind: connection\nname: paused\nsku: "p-{merchant_product_id}"\n'
        'schedule: "* * * * *"\nenabled: false\n' + body)
    first = ef(workspace, "run", "--due", "--json")
    assert first.returncode == 0, first.stderr
    assert [r["connection"] for r in json.loads(first.stdout)["runs"]] == ["nightly"]
    again = ef(workspace, "run", "--due", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["runs"] == []
    assert {p["sku"][:2] for p in sandbox.products()} == {"n-"}
    ws = load_workspace(workspace)
    store = StateStore(ws.state_path)
    try:
        tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
        assert select_connections(ws, store, Selection(due=True), now=tomorrow) == ["nightly"]
    finally:
        store.close()


def test_second_concurrent_run_exits_3(workspace: Path, sandbox) -> None:
    sandbox.set_faults({"latency": {"seconds": 0.3}})
    first = subprocess.Popen([sys.executable, "-m", "elementafeeds", "-w", str(workspace), "run",
                              "shop-feed"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        # its first progress line comes after it has taken the lock
        assert "shop-feed: fetch" in first.stderr.readline()
        second = ef(workspace, "run", "shop-feed")
        assert second.returncode == 3, second.stderr
        assert f"pid {first.pid}" in second.stderr
    finally:
        assert first.wait(timeout=120) == 0
    sandbox.clear_faults()
    assert_one_per_sku(sandbox, 120)


def test_ctrl_c_ends_the_run_failed_and_releases_its_lock(workspace: Path, sandbox) -> None:
    sandbox.set_faults({"latency": {"seconds": 0.3}})
    run = subprocess.Popen([sys.executable, "-m", "elementafeeds", "-w", str(workspace), "run",
                            "shop-feed"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    assert "shop-feed: fetch" in run.stderr.readline()  # it holds the lock
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=60) == 130
    assert "Traceback" not in run.stderr.read()
    status = json.loads(ef(workspace, "status", "shop-feed", "--json").stdout)
    last = status["runs"][0]
    assert last["status"] == "failed" and "interrupted (Ctrl-C)" in last["error_summary"]
    sandbox.clear_faults()
    code, again = run_json(workspace)
    assert code == 0 and again["warnings"] == []  # no lock of a dead process to take over
    assert again["created"] + again["unchanged"] == 120
    assert_one_per_sku(sandbox, 120)


@pytest.mark.parametrize("point", ["after_fetch", "before_batch_sent:2",
                                   "after_batch_answered:2", "during_ledger_commit:3",
                                   "before_finish"])
def test_killed_run_converges(workspace: Path, sandbox, point: str) -> None:
    killed = ef(workspace, "run", "shop-feed", env={"EF_CRASH_AT": point})
    assert killed.returncode == -signal.SIGKILL
    code, run = run_json(workspace, "--force")
    assert code == 0, run
    assert run["failed"] == 0 and run["records"] == 120
    assert_one_per_sku(sandbox, 120)
    db = sqlite3.connect(workspace / ".ef" / "state.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM ledger").fetchone()[0] == 120


def test_a_product_deleted_on_the_site_is_created_again(workspace: Path, sandbox) -> None:
    run_json(workspace)
    victim = sandbox.products(sku="t-P00004")[0]
    write_feed(workspace / "feeds" / "products.csv", 120, price_bump={4})
    # delete it behind ef's back, through the store's own API
    site = load_workspace(workspace).sites["shop"]

    async def delete() -> None:
        async with open_destination(site, GateRegistry().for_site(site)) as destination:
            [result] = await destination.write([WriteOp("delete", "t-P00004", None, victim["id"])])
            assert result.status == "deleted"

    asyncio.run(delete())
    code, run = run_json(workspace)
    assert run["failed"] == 1  # the update found it gone
    code, run = run_json(workspace, "--force")
    assert run["created"] == 1 and run["failed"] == 0
    assert_one_per_sku(sandbox, 120)


def test_a_feed_whose_quotes_do_not_pair_is_cut_again_exactly(workspace: Path, sandbox) -> None:
    """Chunk ends are guessed at line ends first: one falls inside a multi-line quoted name,
    so the run guesses where quotes pair from there; an inch mark in an unquoted field makes
    one of those guesses fall inside a name too, and the run plans the rest exactly. The
    workers' end probes catch both, and every product arrives once, with its whole name."""
    header = "merchant_product_id,product_name,search_price,merchant_category,aw_deep_link,"
    rows = [f'P{i:05d},Monitor 24" wide,19.90,Koti,https://aff.example/p/{i},x,yes'
            if i % 40 == 0 else
            f'P{i:05d},"Tuote\nrivi {i}",{10 + i % 50}.90,Koti,https://aff.example/p/{i},x,yes'
            for i in range(150)]
    (workspace / "feeds" / "products.csv").write_text(
        header + "colour,in_stock\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code, run = run_json(workspace, "--workers", "2", "--chunk-size", "7")
    assert code == 0 and (run["records"], run["created"], run["failed"]) == (150, 150, 0)
    assert_one_per_sku(sandbox, 150)
    assert sandbox.products(sku="t-P00040")[0]["name"] == 'Monitor 24" wide'
    assert sandbox.products(sku="t-P00149")[0]["name"] == "Tuote\nrivi 149"
    log = next((workspace / ".ef" / "logs").glob(f"*{run['id']}*")).read_text()
    replans = [json.loads(line)["message"] for line in log.splitlines()
               if '"replan"' in line]
    assert [message.split(":")[0] for message in replans] == [
        "a line end inside a quoted field", "a quote that does not pair"]


def test_runs_and_reconciles_beat_while_they_hold_the_lock(workspace: Path, sandbox,
                                                           monkeypatch) -> None:
    from elementafeeds.config.loader import load_workspace
    from elementafeeds.pipeline.orchestrate import Selection, run_connections
    from elementafeeds.pipeline.runner import RunOptions
    from elementafeeds.pipeline.sites import destination_factory
    from elementafeeds.reconcile.run import reconcile
    from elementafeeds.state import keepalive
    from elementafeeds.state.store import StateStore

    beats: list[str] = []
    real = StateStore.heartbeat
    monkeypatch.setattr(keepalive, "HEARTBEAT_EVERY_S", 0)
    monkeypatch.setattr(StateStore, "heartbeat",
                        lambda self, connection, run_id=None: (beats.append(connection),
                                                               real(self, connection, run_id)))
    ws = load_workspace(workspace)
    [report] = run_connections(ws, Selection(("shop-feed",)), RunOptions(workers=1))
    assert report.as_dict()["created"] == 120 and beats
    write_feed(workspace / "feeds" / "products.csv", 120, skip=set(range(10)))
    run_connections(ws, Selection(("shop-feed",)), RunOptions(workers=1))
    beats.clear()
    [verdict] = reconcile(ws, ["shop-feed"], dry_run=False, force=False, from_site=False,
                          destination_factory=destination_factory())
    assert verdict.applied == 10, verdict.as_dict()
    assert beats and set(beats) == {"shop-feed"}
