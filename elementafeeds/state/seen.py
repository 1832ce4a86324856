"""The SKUs one run has seen, so that later records of a duplicate SKU fail (the first wins).

Memory must not grow with the feed, and a SQLite table costs about 2.6 µs a key (measured: the
parent's largest cost in a dry run of a large feed). So keys are kept as 128-bit fingerprints
(XXH3-128: two different SKUs of a 10-million-record feed share one with a probability of
about 10⁻²⁵) in an open-addressing table of two `array("Q")`s, about 0.6 µs a key. The table
grows sixteenfold (each growth moves every key, so few growths are cheaper) up to `max_slots`
(2²⁰ slots, 16 MB) and is kept under 70 % full; once full, the keys it does not hold go to a
scratch SQLite file (no journal, no fsync: rebuilt by re-running).
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Sequence
from pathlib import Path

from xxhash import xxh3_128_intdigest

_LOW = (1 << 64) - 1
MAX_SLOTS = 1 << 20
_FILL = 0.7


class SeenSet:
    def __init__(self, path: Path, max_slots: int = MAX_SLOTS) -> None:
        self.path = path
        self.max_slots = max_slots
        self._low = array("Q", bytes(8 * 1024))  # 0 marks a free slot
        self._high = array("Q", bytes(8 * 1024))
        self._count = 0
        self._spill: _SeenFile | None = None

    def add(self, sku_keys: Sequence[str]) -> list[bool]:
        """Record the keys; for each, whether an earlier record of the run already had it."""
        flags = [False] * len(sku_keys)
        for position in self.duplicates(sku_keys):
            flags[position] = True
        return flags

    def duplicates(self, sku_keys: Sequence[str]) -> list[int]:
        """Record the keys; the positions, in order, of those an earlier record of the run
        (or an earlier key of `sku_keys`) already had."""
        found: list[int] = []
        overflow: list[int] = []  # positions of keys the full table does not hold
        low, high, mask = self._low, self._high, len(self._low) - 1
        count, room = self._count, int(_FILL * len(low))
        for position, key in enumerate(sku_keys):
            digest = xxh3_128_intdigest(key.encode("utf-8", "surrogatepass"))
            lo, hi = (digest & _LOW) or 1, digest >> 64
            slot = lo & mask
            while True:
                held = low[slot]
                if held == 0:
                    if count < room:
                        low[slot], high[slot] = lo, hi
                        count += 1
                        if count == room and len(low) < self.max_slots:
                            self._count = count
                            self._grow()
                            low, high, mask = self._low, self._high, len(self._low) - 1
                            room = int(_FILL * len(low))
                    else:
                        overflow.append(position)
                    break
                if held == lo and high[slot] == hi:
                    found.append(position)
                    break
                slot = (slot + 1) & mask
        self._count = count
        if overflow:
            if self._spill is None:
                self._spill = _SeenFile(self.path)
            spilled = self._spill.add([sku_keys[i] for i in overflow])
            found = sorted(found + [p for p, dup in zip(overflow, spilled) if dup])
        return found

    def _grow(self) -> None:
        old_low, old_high = self._low, self._high
        size = min(self.max_slots, 16 * len(old_low))
        low, high, mask = array("Q", bytes(8 * size)), array("Q", bytes(8 * size)), size - 1
        for lo, hi in zip(old_low, old_high):
            if lo:
                slot = lo & mask
                while low[slot]:
                    slot = (slot + 1) & mask
                low[slot], high[slot] = lo, hi
        self._low, self._high = low, high

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()


class _SeenFile:
    """The keys a full table could not take, in a scratch SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("CREATE TABLE seen (sku_key TEXT PRIMARY KEY) WITHOUT ROWID")

    def add(self, sku_keys: Sequence[str]) -> list[bool]:
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

    def close(self) -> None:
        self.conn.close()
        self.path.unlink(missing_ok=True)
