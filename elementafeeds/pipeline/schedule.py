"""Which connections `ef run --due` runs: enabled, with a schedule, due since their last run."""

from __future__ import annotations

from datetime import datetime, timezone

from elementafeeds.config.models import Connection
from elementafeeds.state.records import RunRow


def next_due(connection: Connection, last: RunRow | None) -> datetime | None:
    """When the connection is next due; None when it has no schedule."""
    if not connection.schedule:
        return None
    if last is None:
        return datetime.fromtimestamp(0, timezone.utc)
    from croniter import croniter  # 15 ms (and the local time zone) only when asked

    started = datetime.fromisoformat(last.started_at)
    next_time: datetime = croniter(connection.schedule, started).get_next(datetime)
    return next_time


def is_due(connection: Connection, last: RunRow | None, now: datetime) -> bool:
    if not connection.enabled:
        return False
    due = next_due(connection, last)
    return due is not None and due <= now
