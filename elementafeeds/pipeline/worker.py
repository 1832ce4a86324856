"""What a pool worker does with one chunk: read its own bytes, filter, map and hash.

Top-level functions with plain, picklable arguments only. The worker parses its own bytes
(a CSV byte range or a JSON-lines chunk file), because pickling parsed records from the
parent costs more than a second core gives back. For the same reason only payloads the
parent may send travel back: none in a dry run, and none for records whose hashes the ledger
already holds. Those come back as `unchanged` when the site's last-seen meta needs no refresh
either, and the parent only counts them and moves their last-seen time; the run's lock keeps
every other writer out of the ledger meanwhile. A dry run asks the ledger first and maps and
hashes in full only the products it knows; a new product is a create whatever its content,
so it is only checked (see rules.engine) and only its SKU comes back; when the ledger knows
none of the connection's products, a chunk is only counted (rules.check_records), from the
columns checking reads. Filtered and skipped records come back as one byte each.

Each record is processed as it is parsed (feeds.stream_chunk), while it is still in the CPU
cache; only a dry run against a ledger reads the chunk whole first, to ask the ledger once.

Each task carries its RuleSet, pickled once by the parent (`pack_rules`): pickling and
unpickling it for every chunk cost 70 µs. Compiling it costs more than a millisecond — 3 µs a
record on 500-record chunks — so a worker keeps, per run it serves (a random key), the
compiled RuleSet and its ledger connection, for the run's later chunks; it unpickles the
RuleSet only for its first chunk of a run. Only the last few runs are kept (their category
caches can be large); a run evicted early is just compiled again. The state is never
inherited by a forked child.
"""

from __future__ import annotations

import gc
import os
import pickle
import sqlite3
from array import array
from dataclasses import dataclass, field
from datetime import datetime

from elementafeeds.feeds import ChunkStream, ChunkTask, RecordProblem, stream_chunk
from elementafeeds.pipeline.crash import crash_point
from elementafeeds.pipeline.diff import refresh_due
from elementafeeds.rules import Outcome, RuleSet, check_records, process_records, sku_keys
from elementafeeds.state.store import has_ledger, ledger_hashes, open_ledger_reader

Known = dict[str, tuple[dict[str, str], bool, "str | None"]]
"""Ledger entries of a chunk's SKUs: (hashes, stale, site_seen_at) by lower-case SKU."""


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
    first_record: int
    outcomes: list[Outcome]
    """The outcomes of the records that were neither filtered, skipped nor new, in feed
    order."""
    skipped: bytes
    """One byte per record read, 1 where it was filtered or skipped: only counted, so those
    outcomes stay here (`--limit` counts the first N)."""
    problems: list[RecordProblem] = field(default_factory=list)
    bytes_end: int | None = None
    """Where the chunk ends in the feed file (byte ranges only): progress and ETA."""
    misaligned_at: int | None = None
    """The chunk's guessed end was no record boundary: nothing was processed, and the feed
    must be planned again from this offset (the chunk's start), more carefully."""
    new: list[str] = field(default_factory=list)
    """A dry run's new products (SKUs the ledger lacks), in feed order: only counted, after
    the duplicate check, so they travel as their SKUs (an Outcome each cost the parent about
    a microsecond)."""
    new_at: array[int] = field(default_factory=lambda: array("I"))
    """Where each of `new` is in the chunk (its record is `first_record` + this)."""


@dataclass
class _RunState:
    rules: RuleSet
    ledger: sqlite3.Connection | None = None
    ledger_empty: bool = False
    """The connection had no ledger entry when the run began (checked in dry runs only)."""

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()


_RUNS: dict[str, _RunState] = {}
_RUNS_KEPT = 4
os.register_at_fork(after_in_child=_RUNS.clear)  # a fork must not reuse the parent's state
_SKIPPED = ("filtered", "skipped")
_APART = ("filtered", "skipped", "new")  # what does not travel as an Outcome


def map_chunk(task: ChunkTask, rules: RuleSet | bytes, shipping: Shipping) -> ChunkResult:
    """One chunk's results; `rules` as `pack_rules` gives it (or the RuleSet itself)."""
    state = _run_state(shipping.run_key, rules)
    enabled = gc.isenabled()
    gc.disable()  # no cycles here; collections would walk every record of the chunk
    try:
        crash_point("worker_mid_chunk")
        if not shipping.payloads and _ledger_empty(state, shipping):
            # a dry run where every product is new: only counted, reading only the columns
            # that checking reads
            stream = stream_chunk(task, state.rules.compiled.checked_columns)
            checked = check_records(state.rules, stream.records, task.first_record)
            result = ChunkResult(task.index, len(checked.skipped), task.first_record,
                                 checked.failed, checked.skipped, new=checked.new,
                                 new_at=checked.new_at)
        else:
            stream = stream_chunk(task)
            result = _mapped(state, shipping, task, stream)
    finally:
        if enabled:
            gc.enable()
    if stream.misaligned:
        return ChunkResult(task.index, 0, task.first_record, [], b"", misaligned_at=task.start)
    result.problems = stream.problems
    result.bytes_end = None if task.is_chunk_file else task.end
    return result


def _mapped(state: _RunState, shipping: Shipping, task: ChunkTask,
            stream: ChunkStream) -> ChunkResult:
    """A chunk mapped by process_records, lightened for the journey (see `_lighten`)."""
    known: Known | None = None
    if shipping.payloads or shipping.state_path is None:
        outcomes = process_records(state.rules, stream.records, task.first_record)
    else:  # a dry run: full payloads only where there is a ledger entry to compare with
        records = list(stream.records)
        known = _known(state, shipping, sku_keys(state.rules, records))
        outcomes = process_records(state.rules, records, task.first_record, payload_for=known)
    if stream.misaligned:
        return ChunkResult(task.index, 0, task.first_record, [], b"")  # not looked at
    if known is None:
        known = _known(state, shipping, _sendable_keys(outcomes))
    _lighten(outcomes, known, shipping)
    skipped = bytes([o.verdict in _SKIPPED for o in outcomes])
    kept = [o for o in outcomes if o.verdict not in _APART]
    new = [o for o in outcomes if o.verdict == "new"]
    first = task.first_record
    return ChunkResult(task.index, len(outcomes), first, kept, skipped, new=[o.sku for o in new],
                       new_at=array("I", [o.record - first for o in new]))


def pack_rules(rules: RuleSet) -> bytes:
    """The RuleSet as the tasks of a run carry it (see the module's docstring)."""
    return pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL)


def _run_state(run_key: str, rules: RuleSet | bytes) -> _RunState:
    """This process's state for the run (its compiled RuleSet), made on its first chunk."""
    state = _RUNS.get(run_key)
    if state is None:
        if len(_RUNS) >= _RUNS_KEPT:
            _RUNS.pop(next(iter(_RUNS))).close()
        if isinstance(rules, bytes):
            rules = pickle.loads(rules)  # packed by this pool's own parent process
        state = _RUNS[run_key] = _RunState(rules)
    return state


def forget_run(run_key: str) -> None:
    """Drop a finished run's state (the in-process executor runs chunks in the parent)."""
    state = _RUNS.pop(run_key, None)
    if state is not None:
        state.close()


def _sendable_keys(outcomes: list[Outcome]) -> list[str]:
    return [o.sku.lower() for o in outcomes if o.payload is not None]  # type: ignore[union-attr]


def _ledger(state: _RunState, shipping: Shipping) -> sqlite3.Connection | None:
    """The run's read-only ledger connection in this process (None without a database)."""
    if shipping.state_path is None:
        return None
    if state.ledger is None:
        state.ledger = open_ledger_reader(shipping.state_path)
        # nothing writes the ledger during a dry run: an empty one stays empty
        state.ledger_empty = not shipping.payloads and not has_ledger(state.ledger,
                                                                      shipping.connection)
    return state.ledger


def _ledger_empty(state: _RunState, shipping: Shipping) -> bool:
    """A dry run of a connection with no ledger entry: every product it sends is new."""
    _ledger(state, shipping)
    return state.ledger_empty


def _known(state: _RunState, shipping: Shipping, keys: list[str]) -> Known:
    """The ledger entries of the SKUs `keys` (none without a state database)."""
    ledger = _ledger(state, shipping)
    if ledger is None or state.ledger_empty or not keys:
        return {}
    return ledger_hashes(ledger, shipping.connection, keys)


def _lighten(outcomes: list[Outcome], known: Known, shipping: Shipping) -> None:
    """Drop the payloads the parent will not send: all in a dry run, where a product the
    ledger lacks becomes `new` (a create, whatever its content); and those of products the
    ledger holds as they are, which become `unchanged` unless the site's last-seen meta is
    due for a refresh."""
    if not shipping.payloads:
        for outcome in outcomes:
            outcome.payload = None
    if shipping.state_path is None:
        return
    first: dict[str, Outcome] = {}
    for outcome in outcomes:  # the first record of a SKU wins; later ones fail as duplicates
        if outcome.verdict == "send":
            first.setdefault(outcome.sku.lower(), outcome)  # type: ignore[union-attr]
    for key, outcome in first.items():
        entry = known.get(key)
        if entry is None and not shipping.payloads:
            outcome.verdict = "new"
            continue
        if entry is None or entry[1] or entry[0] != outcome.hashes:
            continue
        outcome.payload = None
        if shipping.refresh_cutoff is not None and not refresh_due(entry[2],
                                                                   shipping.refresh_cutoff):
            outcome.verdict, outcome.hashes = "unchanged", None
