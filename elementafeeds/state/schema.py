"""The state database's schema, with numbered migrations.

Each migration runs once, in order, inside one transaction; `PRAGMA user_version` records
the last one applied, so an older state file is upgraded in place by a newer `ef`.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: runs, ledger, errors, locks, feed validators
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        connection TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running','completed','partial','failed','skipped')),
        dry_run INTEGER NOT NULL DEFAULT 0,
        limited INTEGER NOT NULL DEFAULT 0,
        complete_read INTEGER NOT NULL DEFAULT 0,
        records INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        error_summary TEXT,
        pid INTEGER,
        host TEXT,
        log_path TEXT
    );
    CREATE INDEX runs_by_connection ON runs (connection, id);
    CREATE TABLE ledger (
        connection TEXT NOT NULL,
        sku_key TEXT NOT NULL,
        sku TEXT NOT NULL,
        product_id INTEGER,
        hashes TEXT NOT NULL DEFAULT '{}',
        last_run_id INTEGER,
        first_seen_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        site_seen_at TEXT,
        stale_action TEXT,
        stale_at TEXT,
        PRIMARY KEY (connection, sku_key)
    ) WITHOUT ROWID;
    CREATE TABLE errors (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        sku TEXT,
        record INTEGER,
        stage TEXT NOT NULL,
        code TEXT,
        message TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX errors_by_run ON errors (run_id);
    CREATE TABLE locks (
        connection TEXT PRIMARY KEY,
        run_id INTEGER,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    );
    CREATE TABLE feed_validators (
        feed TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        updated_at TEXT NOT NULL
    );
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the file has not seen; return the schema version.

    The version is read again inside the write transaction, so two `ef` processes opening a
    new state file at once apply each migration exactly once.
    """
    while conn.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS):
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < len(MIGRATIONS):
                for statement in filter(str.strip, MIGRATIONS[version].split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
