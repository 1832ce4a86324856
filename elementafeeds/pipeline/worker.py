"""What a pool worker does with one chunk: read its own bytes, filter, map and hash.

Top-level functions with plain, picklable arguments only. The worker parses its own bytes
(a CSV byte range or a JSON-lines chunk file), because pickling parsed records from the
parent costs more than a second core gives back. For the same reason only payloads the
parent may send travel back: none in a dry run, and none for records whose hashes the ledger
already holds. Those come back as `unchanged` when the site's last-seen meta needs no refresh
either, and the parent only counts them and moves their last-seen time; the run's lock keeps
every other writer out of the ledger meanwhile. A dry run hashes only the records the ledger
knows: a new product is a create whatever its hashes.

Each task carries its RuleSet (pickling it costs 0.1 ms), but compiling it costs more than a
millisecond — 3 µs a record on 500-record chunks — so a worker keeps, per run it serves (a
random key), the compiled RuleSet and its ledger connection, for the run's later chunks. Only
the last few runs are kept (their category caches can be large); a run evicted early is just
compiled again. The state is never inherited by a forked child.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from elementafeeds.feeds import ChunkTask, RecordProblem, read_chunk
from elementafeeds.pipeline.crash import crash_point
from elementafeeds.pipeline.diff import refresh_due
from elementafeeds.rules import Outcome, RuleSet, content_hashes, process_records
from elementafeeds.state.store import ledger_hashes, open_ledger_reader


@dataclass(frozen=True)
class Shipping:
    """Which run a chunk belongs to, and what the parent needs back besides verdicts and
    hashes."""

    run_key: str
    """Unique per run (random): the key of the run's state in each worker."""
    payloads: bool
    """False in a dry run: nothing will be written."""
    state_path: str | None
    """The state database whose ledger tells what stays behind (None: ship everything)."""
    connection: str
    refresh_cutoff: datetime | None = None
    """Last-seen meta older than this is refreshed on the site (see diff.refresh_cutoff)."""


@dataclass
class ChunkResult:
    index: int
    records: int
    outcomes: list[Outcome]
    problems: list[RecordProblem] = field(default_factory=list)
    bytes_end: int | None = None
    """Where the chunk ends in the feed file (byte ranges only): progress and ETA."""


@dataclass
class _RunState:
    rules: RuleSet
    ledger: sqlite3.Connection | None = None

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()


_RUNS: dict[str, _RunState] = {}
_RUNS_KEPT = 4
os.register_at_fork(after_in_child=_RUNS.clear)  # a fork must not reuse the parent's state


def map_chunk(task: ChunkTask, rules: RuleSet, shipping: Shipping) -> ChunkResult:
    state = _run_state(shipping.run_key, rules)
    read = read_chunk(task)
    crash_point("worker_mid_chunk")
    # a dry run with a ledger hashes in _lighten, and only what the ledger knows
    hashed = shipping.payloads or shipping.state_path is None
    outcomes = process_records(state.rules, read.records, task.first_record, hashed=hashed)
    _lighten(outcomes, state, shipping)
    return ChunkResult(task.index, len(read.records), outcomes, read.problems,
                       None if task.is_chunk_file else task.end)


def _run_state(run_key: str, rules: RuleSet) -> _RunState:
    """This process's state for the run (its compiled RuleSet), made on its first chunk."""
    state = _RUNS.get(run_key)
    if state is None:
        if len(_RUNS) >= _RUNS_KEPT:
            _RUNS.pop(next(iter(_RUNS))).close()
        state = _RUNS[run_key] = _RunState(rules)
    return state


def forget_run(run_key: str) -> None:
    """Drop a finished run's state (the in-process executor runs chunks in the parent)."""
    state = _RUNS.pop(run_key, None)
    if state is not None:
        state.close()


def _lighten(outcomes: list[Outcome], state: _RunState, shipping: Shipping) -> None:
    """Drop the payloads the parent will not send (and in a dry run, hash what it compares)."""
    sendable = [o for o in outcomes if o.payload is not None]
    if not sendable:
        return
    if shipping.state_path is None:
        if not shipping.payloads:
            for outcome in sendable:
                outcome.payload = None
        return
    first: dict[str, Outcome] = {}
    for outcome in sendable:  # the first record of a SKU wins; later ones fail as duplicates
        first.setdefault(outcome.sku.lower(), outcome)  # type: ignore[union-attr]
    if state.ledger is None:
        state.ledger = open_ledger_reader(shipping.state_path)
    known = ledger_hashes(state.ledger, shipping.connection, first)
    for outcome in sendable:
        key = outcome.sku.lower()  # type: ignore[union-attr]
        entry = known.get(key)
        if not shipping.payloads and entry is not None:
            outcome.hashes = content_hashes(state.rules, outcome.payload)  # type: ignore[arg-type]
        if not shipping.payloads:
            outcome.payload = None
        if entry is None or entry[1] or entry[0] != outcome.hashes or first[key] is not outcome:
            continue
        outcome.payload = None
        if shipping.refresh_cutoff is not None and not refresh_due(entry[2],
                                                                   shipping.refresh_cutoff):
            outcome.verdict, outcome.hashes = "unchanged", None
