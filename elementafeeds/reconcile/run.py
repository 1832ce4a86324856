"""`ef reconcile`: apply each connection's stale action to products its feed no longer has.

The ledger is the evidence; with `--from-site` (a lost state file) the site's own meta is:
`_elementa_feed_connection_id` finds the connection's products and
`_elementa_last_seen_timestamp` tells when a run last saw them. Runs refresh that meta only when
it is older than half of `after_days` (12 hours with `after_days: 0`), so `--from-site` needs
`after_days` of at least 1 to agree with the ledger.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from elementafeeds.config.loader import Workspace
from elementafeeds.config.models import Connection, Site
from elementafeeds.destinations.base import WriteOp
from elementafeeds.errors import ElementaFeedsError, UsageError
from elementafeeds.exit_codes import ExitCode
from elementafeeds.pipeline.crash import crash_point
from elementafeeds.pipeline.diff import CONNECTION_META, SEEN_META
from elementafeeds.reconcile.stale import StaleItem, Verdict, action_payload, judge, threshold
from elementafeeds.state.keepalive import keep_alive
from elementafeeds.state.store import StateStore


@dataclass
class ReconcileReport:
    connection: str
    action: str
    total: int = 0
    stale: int = 0
    share: float = 0.0
    max_share: float = 0.0
    threshold: str | None = None
    refused: str | None = None
    applied: int = 0
    failed: int = 0
    dry_run: bool = False
    source: str = "ledger"
    items: list[dict[str, Any]] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["exit_code"] = int(self.exit_code)
        data["share"] = round(self.share, 4)
        return data


def reconcile(ws: Workspace, names: list[str], *, dry_run: bool, force: bool,
              from_site: bool, destination_factory: Any, sites: dict[str, Site] | None = None
              ) -> list[ReconcileReport]:
    store = StateStore(ws.state_path)
    try:
        return asyncio.run(_all(ws, names, store, dry_run, force, from_site,
                                destination_factory, sites or {}))
    finally:
        store.close()


def selectable(ws: Workspace, names: list[str], all_: bool) -> list[str]:
    """Named connections, or with --all every enabled one that has a stale action."""
    if names:
        for name in names:
            ws.connection(name)
        return names
    if not all_:
        raise UsageError("name one or more connections, or pass --all",
                         hint="ef reconcile CONNECTION…  |  ef reconcile --all (nightly cron)")
    return [n for n, c in sorted(ws.connections.items())
            if c.stale.action != "none" and c.enabled]


async def _all(ws: Workspace, names: list[str], store: StateStore, dry_run: bool, force: bool,
               from_site: bool, factory: Any, sites: dict[str, Site]) -> list[ReconcileReport]:
    reports = []
    for name in names:
        conn = ws.connection(name)
        site = sites.get(conn.site, ws.sites[conn.site])
        report = ReconcileReport(name, conn.stale.action, max_share=conn.stale.max_share,
                                 dry_run=dry_run, source="site" if from_site else "ledger")
        if conn.stale.action == "none":
            report.refused = "stale.action is none"
            reports.append(report)
            continue
        try:
            await _one(conn, site, store, report, dry_run, force, from_site, factory)
        except ElementaFeedsError as exc:
            report.error = exc.message
            report.exit_code = exc.exit_code
        reports.append(report)
    return reports


async def _one(conn: Connection, site: Site, store: StateStore, report: ReconcileReport,
               dry_run: bool, force: bool, from_site: bool, factory: Any) -> None:
    """Under the connection's lock unless dry: a run of it must not have its ledger marked
    stale while it reads the feed (LockHeldError, exit 3, names the holder)."""
    if dry_run:
        await _judge_and_act(conn, site, store, report, dry_run, force, from_site, factory)
        return
    previous = store.acquire_lock(conn.name)
    if previous is not None:
        report.warnings.append(previous.takeover_note)
    beating = keep_alive(store, conn.name)
    try:
        await _judge_and_act(conn, site, store, report, dry_run, force, from_site, factory)
    finally:
        beating.cancel()
        store.release_lock(conn.name)


async def _judge_and_act(conn: Connection, site: Site, store: StateStore,
                         report: ReconcileReport, dry_run: bool, force: bool, from_site: bool,
                         factory: Any) -> None:
    now = datetime.now(timezone.utc)
    evidence = store.latest_completed_run(conn.name)
    async with factory(site, conn.post_type) as destination:
        if from_site:
            items = [i async for i in _site_items(destination, conn.name)]
            # the site's timestamps are whole seconds: compare at that precision
            started = _whole_second(evidence.started_at) if evidence else None
            if started is None and items:  # no state at all: the site's own timestamps
                started = max(i.last_seen_at for i in items)
            done: list[str] = []
        else:
            entries = list(store.iter_ledger(conn.name))
            items = [StaleItem(e.sku, e.product_id, e.last_seen_at) for e in entries]
            started = evidence.started_at if evidence else None
            done = [e.sku_key for e in entries if e.stale_action == conn.stale.action]
        verdict = judge(items, len(items), conn.stale, threshold(conn.stale, started, now),
                        force, done)
        _fill(report, verdict)
        if verdict.refused:
            report.exit_code = ExitCode.FAILURES if verdict.stale else ExitCode.OK
            return
        if dry_run or not verdict.stale:
            return
        payload = action_payload(conn.stale.action, site.platform)
        ops = [WriteOp("delete" if payload is None else "update", i.sku, payload, i.product_id)
               for i in verdict.stale if i.product_id is not None]
        crash_point("reconcile_before_action")
        size = site.limits.batch_size
        for start in range(0, len(ops), size):
            results = await destination.write(ops[start:start + size])
            ok = [r for r in results if r.status != "failed"]
            report.applied += len(ok)
            report.failed += len(results) - len(ok)
            with store.transaction() as db:
                keys = [r.sku.lower() for r in ok]
                if conn.stale.action == "delete":
                    store.forget(db, conn.name, keys)
                else:
                    store.mark_stale(db, conn.name, keys, conn.stale.action)
            crash_point("reconcile_after_action")
        if report.failed:
            report.exit_code = ExitCode.FAILURES


async def _site_items(destination: Any, connection: str):
    async for product in destination.iter_products():
        if str(product.meta.get(CONNECTION_META, "")) != connection:
            continue
        try:
            seen = datetime.fromtimestamp(int(product.meta.get(SEEN_META, 0)), timezone.utc)
        except (TypeError, ValueError):
            seen = datetime.fromtimestamp(0, timezone.utc)
        if product.status == "trash":
            continue
        yield StaleItem(product.sku, product.id, seen.isoformat())


def _whole_second(moment: str) -> str:
    return datetime.fromisoformat(moment).replace(microsecond=0).isoformat()


def _fill(report: ReconcileReport, verdict: Verdict) -> None:
    report.total = verdict.total
    report.stale = len(verdict.stale)
    report.share = verdict.share
    report.threshold = verdict.threshold
    report.refused = verdict.refused
    report.items = [{"sku": i.sku, "product_id": i.product_id, "last_seen_at": i.last_seen_at}
                    for i in verdict.stale]
