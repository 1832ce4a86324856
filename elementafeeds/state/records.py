"""Plain records that cross the state layer's border."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

RunStatus = Literal["running", "completed", "partial", "failed", "skipped"]
"""running → completed | partial | failed | skipped; the last four are terminal."""

TERMINAL: frozenset[str] = frozenset({"completed", "partial", "failed", "skipped"})

COUNTERS = ("records", "created", "updated", "unchanged", "skipped", "failed")


@dataclass
class Counters:
    """How the records of a run ended. created+updated+unchanged+skipped+failed == records."""

    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0

    def add(self, other: Counters) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def settled(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped + self.failed


@dataclass(frozen=True)
class LedgerEntry:
    sku_key: str
    sku: str
    product_id: int | None
    hashes: dict[str, str]
    last_seen_at: str
    site_seen_at: str | None
    stale_action: str | None


@dataclass(frozen=True)
class LedgerWrite:
    """A product the site now holds, as a batch answer proved it."""

    sku: str
    product_id: int
    hashes: dict[str, str]
    site_seen_at: str | None = None


@dataclass(frozen=True)
class ErrorRecord:
    stage: str
    message: str
    sku: str | None = None
    code: str | None = None
    record: int | None = None


@dataclass(frozen=True)
class LockHolder:
    connection: str
    run_id: int | None
    pid: int
    host: str
    started_at: str
    heartbeat_at: str

    @property
    def takeover_note(self) -> str:
        """What an operator is told when this dead holder's lock was taken over."""
        return f"took over the lock of pid {self.pid} on {self.host} (process gone)"


@dataclass
class RunRow:
    id: int
    connection: str
    status: str
    started_at: str
    finished_at: str | None
    dry_run: bool = False
    limited: bool = False
    complete_read: bool = False
    error_summary: str | None = None
    log_path: str | None = None
    counters: Counters = field(default_factory=Counters)

    @property
    def duration_s(self) -> float | None:
        from datetime import datetime

        if not self.finished_at:
            return None
        start = datetime.fromisoformat(self.started_at)
        end = datetime.fromisoformat(self.finished_at)
        return round((end - start).total_seconds(), 3)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "connection": self.connection,
            "status": self.status,
            **self.counters.as_dict(),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "error_summary": self.error_summary,
            "dry_run": self.dry_run,
        }
