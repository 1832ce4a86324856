"""All SQL of ElementaFeeds: runs, ledger, errors, locks, feed validators.

One writer per process; every write transaction starts with `BEGIN IMMEDIATE` under a busy
timeout, so concurrent `ef` processes queue instead of failing with "database is locked".
After each batch the ledger rows, counters and errors go in one transaction, so a crash loses
at most the batch in flight.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from elementafeeds.errors import LockHeldError, StateError
from elementafeeds.state.records import (
    COUNTERS,
    Counters,
    ErrorRecord,
    LedgerEntry,
    LedgerWrite,
    LockHolder,
    RunRow,
    RunStatus,
)
from elementafeeds.state.schema import migrate

if TYPE_CHECKING:
    import sqlite_utils


def _load_sqlite_utils() -> ModuleType:
    """sqlite-utils, loaded without numpy and pandas. It imports them when they are installed
    only to convert their values, which ef never stores, and numpy alone was 50 ms of every
    `ef` start and 12 MB in every process (measured). Both stay importable for other code."""
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # importing it raises ImportError
    try:
        import sqlite_utils as module
    finally:
        for name in hidden:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]
    return module


sqlite_utils = _load_sqlite_utils()

BUSY_TIMEOUT_MS = 60_000
HEARTBEAT_STALE_S = 120


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StateStore:
    """The state database of one workspace."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # a deleted state file: its old WAL must not be replayed
                for suffix in ("-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"cannot use the state database {path}: {exc}",
                hint="check the path (EF_STATE, ef.yaml `state:`) and that the file is not damaged",
            ) from exc
        self.conn = conn
        self.db = sqlite_utils.Database(conn)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- locks ---------------------------------------------------------------------------

    def acquire_lock(self, connection: str) -> LockHolder | None:
        """Take the connection's lock; return the dead holder it replaced, if any.

        A live holder raises LockHeldError with its details. A holder whose process is gone
        (same host, pid not alive) or whose heartbeat stopped long ago is taken over.
        """
        pid, host, now = os.getpid(), socket.gethostname(), utcnow()
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT connection, run_id, pid, host, started_at, heartbeat_at FROM locks "
                "WHERE connection = ?", (connection,)).fetchone()
            previous = LockHolder(*row) if row else None
            if previous and not self._lock_is_dead(previous):
                raise LockHeldError(
                    f"connection '{connection}' is being run by pid {previous.pid} on "
                    f"{previous.host} since {previous.started_at}"
                    + (f" (run {previous.run_id})" if previous.run_id else ""),
                    hint="wait for that run to finish; a lock whose process died is taken "
                    "over automatically",
                )
            conn.execute(
                "INSERT OR REPLACE INTO locks VALUES (?, NULL, ?, ?, ?, ?)",
                (connection, pid, host, now, now),
            )
            if previous and previous.run_id:
                conn.execute(
                    "UPDATE runs SET status = 'failed', finished_at = ?, error_summary = "
                    "coalesce(error_summary, 'interrupted: the process died') "
                    "WHERE id = ? AND status = 'running'", (now, previous.run_id))
        return previous

    @staticmethod
    def _lock_is_dead(holder: LockHolder) -> bool:
        if holder.host == socket.gethostname():
            return holder.pid != os.getpid() and not _pid_alive(holder.pid)
        beat = datetime.fromisoformat(holder.heartbeat_at)
        return (datetime.now(timezone.utc) - beat).total_seconds() > HEARTBEAT_STALE_S

    def heartbeat(self, connection: str, run_id: int | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE locks SET heartbeat_at = ?, run_id = coalesce(?, run_id) "
                "WHERE connection = ? AND pid = ?",
                (utcnow(), run_id, connection, os.getpid()))

    def release_lock(self, connection: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM locks WHERE connection = ? AND pid = ?",
                         (connection, os.getpid()))

    # --- runs ----------------------------------------------------------------------------

    def start_run(self, connection: str, *, dry_run: bool = False, limited: bool = False,
                  log_dir: Path | None = None) -> RunRow:
        now = utcnow()
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (connection, status, dry_run, limited, started_at, pid, host) "
                "VALUES (?, 'running', ?, ?, ?, ?, ?)",
                (connection, int(dry_run), int(limited), now, os.getpid(), socket.gethostname()))
            run_id = int(cur.lastrowid or 0)
            log_path = str(log_dir / f"run-{run_id}.log") if log_dir else None
            conn.execute("UPDATE runs SET log_path = ? WHERE id = ?", (log_path, run_id))
            conn.execute("UPDATE locks SET run_id = ? WHERE connection = ? AND pid = ?",
                         (run_id, connection, os.getpid()))
        return RunRow(run_id, connection, "running", now, None, dry_run, limited,
                      log_path=log_path)

    def finish_run(self, run_id: int, status: RunStatus, counters: Counters, *,
                   complete_read: bool, error_summary: str | None) -> str:
        now = utcnow()
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, complete_read = ?, "
                "error_summary = ?, " + ", ".join(f"{c} = ?" for c in COUNTERS) + " WHERE id = ?",
                (status, now, int(complete_read), error_summary,
                 *(getattr(counters, c) for c in COUNTERS), run_id))
        return now

    def save_counters(self, conn: sqlite3.Connection, run_id: int, counters: Counters) -> None:
        conn.execute("UPDATE runs SET " + ", ".join(f"{c} = ?" for c in COUNTERS)
                     + " WHERE id = ?", (*(getattr(counters, c) for c in COUNTERS), run_id))

    def get_run(self, run_id: int) -> RunRow | None:
        rows = self._runs("WHERE id = ?", (run_id,))
        return rows[0] if rows else None

    def list_runs(self, connection: str | None = None, *, status: str | None = None,
                  limit: int = 20) -> list[RunRow]:
        where, params = [], []
        if connection:
            where.append("connection = ?")
            params.append(connection)
        if status:
            where.append("status = ?")
            params.append(status)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._runs(f"{clause} ORDER BY id DESC LIMIT ?", (*params, limit))

    def last_runs(self) -> dict[str, RunRow]:
        """The latest run of every connection that has one."""
        rows = self._runs("WHERE id IN (SELECT max(id) FROM runs GROUP BY connection)", ())
        return {r.connection: r for r in rows}

    def last_real_run(self, connection: str) -> RunRow | None:
        """The latest run that was not a dry run (what `--due` measures from)."""
        rows = self._runs("WHERE connection = ? AND dry_run = 0 ORDER BY id DESC LIMIT 1",
                          (connection,))
        return rows[0] if rows else None

    def latest_completed_run(self, connection: str) -> RunRow | None:
        """The latest run that is evidence: completed, whole feed read, no --limit, not dry."""
        rows = self._runs(
            "WHERE connection = ? AND status = 'completed' AND complete_read = 1 AND limited = 0 "
            "AND dry_run = 0 ORDER BY id DESC LIMIT 1", (connection,))
        return rows[0] if rows else None

    def _runs(self, clause: str, params: Sequence[object]) -> list[RunRow]:
        cols = ("id, connection, status, started_at, finished_at, dry_run, limited, "
                "complete_read, error_summary, log_path, " + ", ".join(COUNTERS))
        out = []
        for row in self.conn.execute(f"SELECT {cols} FROM runs {clause}", tuple(params)):
            counters = Counters(*row[10:])
            out.append(RunRow(row[0], row[1], row[2], row[3], row[4], bool(row[5]),
                              bool(row[6]), bool(row[7]), row[8], row[9], counters))
        return out

    # --- errors --------------------------------------------------------------------------

    def add_errors(self, conn: sqlite3.Connection, run_id: int, errors: Iterable[ErrorRecord],
                   cap: int) -> None:
        """Store error records, at most `cap` per run (the log file keeps them all)."""
        errors = list(errors)
        if not errors:
            return
        have = conn.execute("SELECT count(*) FROM errors WHERE run_id = ?", (run_id,)).fetchone()[0]
        room = max(0, cap - have)
        now = utcnow()
        conn.executemany(
            "INSERT INTO errors (run_id, sku, record, stage, code, message, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, e.sku, e.record, e.stage, e.code, e.message, now) for e in errors[:room]])

    def run_errors(self, run_id: int) -> list[dict[str, object]]:
        cur = self.conn.execute(
            "SELECT sku, record, stage, code, message, at FROM errors WHERE run_id = ? "
            "ORDER BY id", (run_id,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    # --- ledger --------------------------------------------------------------------------

    def ledger_lookup(self, connection: str, sku_keys: Sequence[str]) -> dict[str, LedgerEntry]:
        found: dict[str, LedgerEntry] = {}
        for start in range(0, len(sku_keys), 900):
            part = sku_keys[start:start + 900]
            marks = ",".join("?" * len(part))
            for row in self.conn.execute(
                "SELECT sku_key, sku, product_id, hashes, last_seen_at, site_seen_at, "
                f"stale_action FROM ledger WHERE connection = ? AND sku_key IN ({marks})",
                (connection, *part),
            ):
                found[row[0]] = LedgerEntry(row[0], row[1], row[2], json.loads(row[3]),
                                            row[4], row[5], row[6])
        return found

    def write_ledger(self, conn: sqlite3.Connection, connection: str, run_id: int,
                     rows: Iterable[LedgerWrite], now: str) -> None:
        """Upsert products the site now holds; clears any stale mark (they are back)."""
        conn.executemany(
            "INSERT INTO ledger (connection, sku_key, sku, product_id, hashes, last_run_id, "
            "first_seen_at, last_seen_at, site_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (connection, sku_key) DO UPDATE SET sku = excluded.sku, "
            "product_id = excluded.product_id, hashes = excluded.hashes, "
            "last_run_id = excluded.last_run_id, last_seen_at = excluded.last_seen_at, "
            "site_seen_at = coalesce(excluded.site_seen_at, site_seen_at), "
            "stale_action = NULL, stale_at = NULL",
            [(connection, r.sku.lower(), r.sku, r.product_id,
              json.dumps(r.hashes, sort_keys=True), run_id, now, now, r.site_seen_at)
             for r in rows])

    def touch_seen(self, connection: str, run_id: int, sku_keys: Sequence[str], now: str,
                   site_seen: bool = False) -> None:
        """Mark unchanged products as seen by this run, many in one transaction."""
        if not sku_keys:
            return
        sql = ("UPDATE ledger SET last_run_id = ?, last_seen_at = ?"
               + (", site_seen_at = ?" if site_seen else "")
               + " WHERE connection = ? AND sku_key = ?")
        params = ((run_id, now, now, connection, k) if site_seen else (run_id, now, connection, k)
                  for k in sku_keys)
        with self.transaction() as conn:
            conn.executemany(sql, params)

    def forget(self, conn: sqlite3.Connection, connection: str, sku_keys: Iterable[str]) -> None:
        conn.executemany("DELETE FROM ledger WHERE connection = ? AND sku_key = ?",
                         [(connection, k) for k in sku_keys])

    def ledger_size(self, connection: str) -> int:
        return self.conn.execute("SELECT count(*) FROM ledger WHERE connection = ?",
                                 (connection,)).fetchone()[0]

    def iter_ledger(self, connection: str) -> Iterator[LedgerEntry]:
        for row in self.conn.execute(
            "SELECT sku_key, sku, product_id, hashes, last_seen_at, site_seen_at, stale_action "
            "FROM ledger WHERE connection = ? ORDER BY sku_key", (connection,)
        ):
            yield LedgerEntry(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])

    def mark_stale(self, conn: sqlite3.Connection, connection: str, sku_keys: Iterable[str],
                   action: str) -> None:
        now = utcnow()
        conn.executemany(
            "UPDATE ledger SET stale_action = ?, stale_at = ? WHERE connection = ? AND sku_key = ?",
            [(action, now, connection, k) for k in sku_keys])

    # --- feed validators -------------------------------------------------------------------

    def feed_validators(self, feed: str) -> tuple[str | None, str | None]:
        row = self.conn.execute("SELECT etag, last_modified FROM feed_validators WHERE feed = ?",
                                (feed,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def save_feed_validators(self, feed: str, etag: str | None, last_modified: str | None) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO feed_validators VALUES (?, ?, ?, ?)",
                         (feed, etag, last_modified, utcnow()))


# --- read-only ledger view for pool workers ------------------------------------------------

def open_ledger_reader(path: Path | str) -> sqlite3.Connection:
    """A read-only connection for a pool worker, for one run (the caller closes it): a
    connection kept longer could outlive a deleted and recreated state file."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    return conn


def has_ledger(conn: sqlite3.Connection, connection: str) -> bool:
    """Whether the ledger holds any product of the connection."""
    return conn.execute("SELECT 1 FROM ledger WHERE connection = ? AND product_id IS NOT NULL "
                        "LIMIT 1", (connection,)).fetchone() is not None


def ledger_hashes(conn: sqlite3.Connection, connection: str, sku_keys: Iterable[str]
                  ) -> dict[str, tuple[dict[str, str], bool, str | None]]:
    """{sku key: (hashes, stale, site_seen_at)} of the given keys that the ledger holds with
    a product id.

    For pool workers, which use it to decide what travels back to the parent: a record the
    ledger holds unchanged goes back as `unchanged`, without payload; in a dry run hashes are
    computed only where there is something to compare them with. The run's lock keeps every
    other writer out of the connection's ledger meanwhile."""
    keys = list(sku_keys)
    found: dict[str, tuple[dict[str, str], bool, str | None]] = {}
    for start in range(0, len(keys), 900):
        part = keys[start:start + 900]
        marks = ",".join("?" * len(part))
        for key, stored, stale, site_seen in conn.execute(
            f"SELECT sku_key, hashes, stale_action, site_seen_at FROM ledger WHERE connection "
            f"= ? AND sku_key IN ({marks}) AND product_id IS NOT NULL", (connection, *part)):
            found[key] = (json.loads(stored), stale is not None, site_seen)
    return found
