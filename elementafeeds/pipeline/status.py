"""What `ef status` and `ef errors` show: connections, their runs and error records."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from elementafeeds.config.loader import Workspace
from elementafeeds.errors import UsageError
from elementafeeds.pipeline.schedule import next_due
from elementafeeds.state.store import StateStore

SORT_FIELDS = ("connection", "feed", "site", "status", "last_run", "failed", "next_due")


def overview(ws: Workspace, sort: str = "connection", status: str | None = None
             ) -> list[dict[str, Any]]:
    """One row per connection with its last run and next due time."""
    if sort not in SORT_FIELDS:
        raise UsageError(f"cannot sort by '{sort}'", hint=f"sort by one of {', '.join(SORT_FIELDS)}")
    store = _store(ws)
    try:
        last = store.last_runs()
        real = {name: store.last_real_run(name) for name in ws.connections}
    finally:
        store.close()
    rows = []
    for name, conn in ws.connections.items():
        run = last.get(name)
        due = next_due(conn, real[name]) if conn.enabled else None
        row: dict[str, Any] = {
            "connection": name, "feed": conn.feed, "site": conn.site, "enabled": conn.enabled,
            "schedule": conn.schedule, "last_run": run.id if run else None,
            "status": run.status if run else None,
            "next_due": _when(due),
        }
        counters = run.as_dict() if run else {}
        for key in ("created", "updated", "unchanged", "skipped", "failed", "records",
                    "started_at", "duration_s"):
            row[key] = counters.get(key)
        rows.append(row)
    if status:
        rows = [r for r in rows if r["status"] == status]
    return sorted(rows, key=lambda r: (r[sort] is None, str(r[sort]) if sort != "failed"
                                       else -(r[sort] or 0)))


def history(ws: Workspace, connection: str, runs: int = 20, status: str | None = None
            ) -> list[dict[str, Any]]:
    ws.connection(connection)
    store = _store(ws)
    try:
        return [r.as_dict() for r in store.list_runs(connection, status=status, limit=runs)]
    finally:
        store.close()


def run_errors(ws: Workspace, run_id: int) -> dict[str, Any]:
    store = _store(ws)
    try:
        run = store.get_run(run_id)
        if run is None:
            raise UsageError(f"no run {run_id} in {ws.state_path}",
                             hint="ef status CONNECTION lists a connection's runs")
        return {"run": run.as_dict(), "log_path": run.log_path, "errors": store.run_errors(run_id)}
    finally:
        store.close()


def _store(ws: Workspace) -> StateStore:
    return StateStore(ws.state_path)


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment <= datetime.now(timezone.utc):
        return "now"
    return moment.isoformat(timespec="minutes")
