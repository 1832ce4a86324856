"""What pool workers send back: payloads only where the parent may write them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from elementafeeds.config.loader import load_workspace
from elementafeeds.errors import StateError
from elementafeeds.feeds import detect_spec, plan_chunks
from elementafeeds.pipeline.diff import plan_chunk
from elementafeeds.pipeline.worker import Shipping, map_chunk
from elementafeeds.rules import build_ruleset
from elementafeeds.state.records import LedgerEntry
from tests.pipeline.conftest import ef, write_feed


def _map_all(root: Path, shipping: Shipping) -> list:
    return _map_with_new(root, shipping)[0]


def _map_with_new(root: Path, shipping: Shipping) -> tuple[list, list[tuple[str, int]]]:
    """The outcomes that are neither filtered nor skipped, and the new products of a dry run
    (SKU, record)."""
    ws = load_workspace(root)
    rules = build_ruleset(ws, "shop-feed")
    feed = root / "feeds" / "products.csv"
    spec = detect_spec(feed, ws.feeds["feed"])
    outcomes, new = [], []
    for task in plan_chunks(feed, spec, root / "tmp", records_per_chunk=50):
        result = map_chunk(task, rules, shipping)
        outcomes += result.outcomes
        new += [(sku, result.first_record + at) for sku, at in zip(result.new, result.new_at)]
    return [o for o in outcomes if o.verdict in ("send", "unchanged")], new


def test_unchanged_records_leave_their_payloads_in_the_worker(workspace: Path) -> None:
    assert ef(workspace, "run", "shop-feed").returncode == 0
    write_feed(workspace / "feeds" / "products.csv", 120, price_bump={5, 9})
    state = load_workspace(workspace).state_path
    sent = _map_all(workspace, Shipping("k1", payloads=True, state_path=str(state),
                                        connection="shop-feed"))
    with_payload = {o.sku for o in sent if o.payload is not None}
    assert len(sent) == 120 and with_payload == {"t-P00005", "t-P00009"}
    assert all(o.verdict == "send" and o.hashes for o in sent)  # the parent diffs them all

    now = datetime.now(timezone.utc)
    fresh = _map_all(workspace, Shipping("k4", payloads=True, state_path=str(state),
                                         connection="shop-feed",
                                         refresh_cutoff=now - timedelta(hours=12)))
    assert {o.sku for o in fresh if o.verdict == "send"} == with_payload
    assert sum(o.verdict == "unchanged" and o.payload is None for o in fresh) == 118
    due = _map_all(workspace, Shipping("k5", payloads=True, state_path=str(state),
                                       connection="shop-feed",
                                       refresh_cutoff=now + timedelta(minutes=1)))
    assert all(o.verdict == "send" for o in due)  # last-seen meta to refresh: the parent's job


def test_a_dry_run_ships_no_payloads_and_hashes_only_known_products(workspace: Path) -> None:
    assert ef(workspace, "run", "shop-feed").returncode == 0
    write_feed(workspace / "feeds" / "products.csv", 130)
    state = load_workspace(workspace).state_path
    dry, new = _map_with_new(workspace, Shipping("k2", payloads=False, state_path=str(state),
                                                 connection="shop-feed"))
    assert len(dry) == 120 and all(o.payload is None and o.hashes for o in dry)
    assert new == [(f"t-P{i:05d}", i + 1) for i in range(120, 130)]  # only their SKUs travel
    result = ef(workspace, "run", "shop-feed", "--dry-run", "--json")
    run = json.loads(result.stdout)["runs"][0]
    assert (run["created"], run["unchanged"], run["updated"]) == (10, 120, 0)


def test_a_missing_payload_is_only_acceptable_in_a_dry_run(workspace: Path) -> None:
    [outcome] = _map_all(workspace, Shipping("k3", payloads=False, state_path=None,
                                             connection="shop-feed"))[:1]
    ledger = {outcome.sku.lower(): LedgerEntry(outcome.sku.lower(), outcome.sku, 7,
                                               {"core": "old"}, "", None, None)}
    kwargs = dict(update_payload=lambda p, g: p, after_days=30, now=datetime.now(timezone.utc))
    plan = plan_chunk([outcome], ledger, {}, dry_run=True, **kwargs)
    assert [w.counts_as for w in plan.writes] == ["updated"]
    with pytest.raises(StateError, match="changed while this run"):
        plan_chunk([outcome], ledger, {}, **kwargs)


def test_chunks_of_a_byte_range_feed_report_where_they_end(workspace: Path) -> None:
    ws = load_workspace(workspace)
    rules = build_ruleset(ws, "shop-feed")
    feed = workspace / "feeds" / "products.csv"
    tasks = list(plan_chunks(feed, detect_spec(feed, ws.feeds["feed"]), workspace / "tmp",
                             records_per_chunk=50))
    ends = [map_chunk(t, rules, Shipping("k6", True, None, "shop-feed")).bytes_end
            for t in tasks]
    assert ends == sorted(ends) and ends[-1] == feed.stat().st_size


def test_runs_in_one_process_never_share_worker_state(workspace: Path, sandbox) -> None:
    """A long-lived process (embedding, tests): a lost state file and a changed SKU template
    between two runs must not be served from the first run's cached rules or ledger reader."""
    from elementafeeds.pipeline.orchestrate import Selection, run_connections
    from elementafeeds.pipeline.runner import RunOptions

    options = RunOptions(workers=1, chunk_size=50)
    ws = load_workspace(workspace)
    [first] = run_connections(ws, Selection(("shop-feed",)), options)
    assert first.as_dict()["created"] == 120
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ws.state_path}{suffix}").unlink(missing_ok=True)
    conn = workspace / "connections" / "all.yaml"
    conn.write_text(conn.read_text().replace('sku: "t-{', 'sku: "u-{'))
    [second] = run_connections(load_workspace(workspace), Selection(("shop-feed",)), options)
    assert (second.as_dict()["created"], second.as_dict()["unchanged"]) == (120, 0)
    assert len(sandbox.products(sku="u-P00001")) == 1
