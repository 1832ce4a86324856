"""The SKUs one run has seen, kept on disk so memory does not grow with the feed.

A scratch SQLite file per run (no journal, no fsync: it is rebuilt by re-running) answers two
questions cheaply: is this SKU a duplicate within the feed, and which SKUs did the run see.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path


class SeenSet:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("CREATE TABLE seen (sku_key TEXT PRIMARY KEY) WITHOUT ROWID")

    def add(self, sku_keys: Sequence[str]) -> list[bool]:
        """Record the keys; for each, whether an earlier record of the run already had it."""
        earlier: set[str] = set()
        for start in range(0, len(sku_keys), 900):
            part = list(dict.fromkeys(sku_keys[start:start + 900]))
            marks = ",".join("?" * len(part))
            earlier.update(row[0] for row in self.conn.execute(
                f"SELECT sku_key FROM seen WHERE sku_key IN ({marks})", part))
        flags: list[bool] = []
        fresh: list[str] = []
        for key in sku_keys:
            duplicate = key in earlier
            flags.append(duplicate)
            if not duplicate:
                earlier.add(key)
                fresh.append(key)
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT INTO seen VALUES (?)", ((k,) for k in fresh))
        self.conn.execute("COMMIT")
        return flags

    def __iter__(self) -> Iterator[str]:
        return (row[0] for row in self.conn.execute("SELECT sku_key FROM seen"))

    def __len__(self) -> int:
        return self.conn.execute("SELECT count(*) FROM seen").fetchone()[0]

    def close(self) -> None:
        self.conn.close()
        self.path.unlink(missing_ok=True)
