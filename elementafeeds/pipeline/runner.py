"""One run of one connection: lock → fetch → read → filter/map (pool) → diff → write → finish.

The parent process owns SQLite and the site writes; pool workers parse their own bytes and
map records. Every record ends in exactly one of created, updated, unchanged, skipped or failed.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import traceback
import uuid
from array import array
from collections import Counter as Tally
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from elementafeeds.config.loader import Workspace
from elementafeeds.config.secrets import secret_values
from elementafeeds.errors import ElementaFeedsError, FeedError, LockHeldError, SiteError
from elementafeeds.exit_codes import ExitCode
from elementafeeds.feeds import CAREFUL, ChunkTask, Guess, detect_spec, fetched, plan_chunks
from elementafeeds.pipeline.crash import crash_point
from elementafeeds.pipeline.diff import (
    SiteEntry,
    plan_chunk,
    refresh_cutoff,
    site_hashes,
    with_run_meta,
)
from elementafeeds.pipeline.progress import ProgressEvent, ProgressSink, no_progress
from elementafeeds.pipeline.runlog import RunLog
from elementafeeds.pipeline.worker import (
    ChunkResult,
    Shipping,
    forget_run,
    map_chunk,
    pack_rules,
)
from elementafeeds.pipeline.writer import BatchSender, WriteContext
from elementafeeds.rules import RuleSet, build_ruleset, update_payload
from elementafeeds.state.keepalive import keep_alive
from elementafeeds.state.records import Counters, ErrorRecord, RunRow
from elementafeeds.state.seen import SeenSet
from elementafeeds.state.store import StateStore

TOUCH_FLUSH = 20_000
INLINE_PLANNING_S = 0.001


@dataclass
class RunOptions:
    dry_run: bool = False
    limit: int | None = None
    workers: int = 2
    chunk_size: int = 500
    force: bool = False


@dataclass
class RunReport:
    """What the CLI shows and `--json` prints for one connection."""

    connection: str
    run: RunRow | None
    exit_code: ExitCode
    message: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        if self.run is None:
            return {"id": None, "connection": self.connection, "status": "not_started",
                    "records": 0, "created": 0, "updated": 0, "unchanged": 0, "skipped": 0,
                    "failed": 0, "started_at": None, "finished_at": None, "duration_s": None,
                    "error_summary": self.message, "exit_code": int(self.exit_code),
                    "warnings": self.warnings}
        return {**self.run.as_dict(), "exit_code": int(self.exit_code),
                "warnings": self.warnings}


class ConnectionRun:
    def __init__(self, ws: Workspace, name: str, store: StateStore, executor: Executor,
                 destination_factory: Any, options: RunOptions,
                 progress: ProgressSink = no_progress) -> None:
        self.ws = ws
        self.name = name
        self.conn = ws.connection(name)
        self.feed = ws.feeds[self.conn.feed]
        self.site = ws.sites[self.conn.site]
        self.store = store
        self.executor = executor
        self.destination_factory = destination_factory
        self.options = options
        self.progress = progress
        self.counters = Counters()
        self.reasons: Tally[str] = Tally()
        self.warnings: list[str] = []
        self.complete_read = False

    # --- the run -------------------------------------------------------------------------

    async def execute(self) -> RunReport:
        try:
            previous = self.store.acquire_lock(self.name)
        except LockHeldError as exc:
            return RunReport(self.name, None, ExitCode.LOCKED, exc.message)
        if previous is not None:
            self.warnings.append(previous.takeover_note)
        beating = keep_alive(self.store, self.name)
        try:
            return await self._locked()
        finally:
            beating.cancel()

    async def _locked(self) -> RunReport:
        """The run, under the connection's lock, which it releases at the end."""
        crash_point("after_lock")
        log_dir = self.store.path.parent / "logs"
        run = self.store.start_run(self.name, dry_run=self.options.dry_run,
                                   limited=self.options.limit is not None, log_dir=log_dir)
        self.run_id = run.id
        self.log = RunLog(Path(run.log_path) if run.log_path else None,
                          secret_values(self.site.credentials))
        work_dir = self.store.path.parent / "tmp" / f"run-{run.id}"
        status, summary, code = "failed", None, ExitCode.FAILURES
        interrupted = False
        try:
            status, summary = await self._execute(run)
            code = self._exit_code(status)
        except asyncio.CancelledError:  # Ctrl-C: the run ends failed and its lock is released
            interrupted = True
            summary = "interrupted (Ctrl-C); the next run goes on from what was recorded"
            self.log.write("fatal", message=summary)
        except ElementaFeedsError as exc:
            summary = self.log.scrub(exc.message)
            code = exc.exit_code
            if isinstance(exc, FeedError):
                summary = f"feed: {summary}"
            elif isinstance(exc, SiteError):
                summary = f"site: {summary}"
            self.log.write("fatal", message=summary, hint=exc.hint)
        except BrokenProcessPool:
            summary = ("a pool worker process died (killed by the system, perhaps out of "
                       "memory); nothing after the last recorded batch was kept")
            self.log.write("fatal", message=summary)
        except Exception as exc:  # a bug: the run still ends failed and its lock is released
            summary = self.log.scrub(f"internal error ({type(exc).__name__}): {exc}")
            self.log.write("fatal", message=summary, traceback=traceback.format_exc())
        finally:
            crash_point("before_finish")
            self.log.write("finish", status=status, **self.counters.as_dict())
            self.log.close()
            shutil.rmtree(work_dir, ignore_errors=True)
        summary = summary or self._summary()
        self.store.finish_run(run.id, status, self.counters,  # type: ignore[arg-type]
                              complete_read=self.complete_read, error_summary=summary)
        crash_point("during_finish")
        self.store.release_lock(self.name)
        if interrupted:
            raise asyncio.CancelledError
        self.progress(ProgressEvent(self.name, "finish", self.counters, message=status))
        return RunReport(self.name, self.store.get_run(run.id), code, summary, self.warnings)

    def _exit_code(self, status: str) -> ExitCode:
        if status in ("failed", "partial") or self.counters.failed:
            return ExitCode.FAILURES
        return ExitCode.OK

    def _summary(self) -> str | None:
        if not self.reasons:
            return None
        top = ", ".join(f"{reason} ×{n}" for reason, n in self.reasons.most_common(5))
        return f"failed records: {top}"

    async def _execute(self, run: RunRow) -> tuple[str, str | None]:
        rules = build_ruleset(self.ws, self.name)
        self.progress(ProgressEvent(self.name, "fetch", self.counters))
        etag, modified = (None, None) if self.options.force else \
            self.store.feed_validators(self.feed.name)
        work_dir = self.store.path.parent / "tmp" / f"run-{run.id}"
        work_dir.mkdir(parents=True, exist_ok=True)
        with fetched(self.feed, self.ws.root, work_dir, etag=etag, last_modified=modified,
                     max_bytes=self.ws.settings.defaults.max_feed_bytes) as result:
            if result.not_modified:
                return "skipped", "feed not modified since the last run (ETag/Last-Modified)"
            crash_point("after_fetch")
            assert result.path is not None
            spec = await asyncio.to_thread(detect_spec, result.path, self.feed)
            size = result.path.stat().st_size
            async with self._destination() as destination:
                status = await self._process(run, rules, spec, result.path, work_dir,
                                             destination, size)
            if status == "completed" and not self.options.dry_run:
                self.store.save_feed_validators(self.feed.name, result.etag,
                                                result.last_modified)
        return status, None

    @asynccontextmanager
    async def _destination(self) -> AsyncIterator[Any]:
        if self.options.dry_run:
            yield None
            return
        async with self.destination_factory(self.site, self.conn.post_type) as destination:
            yield destination

    async def _process(self, run: RunRow, rules: RuleSet, spec: Any, path: Path,
                       work_dir: Path, destination: Any, size: int) -> str:
        now = datetime.now(timezone.utc)
        seen_ts = int(now.timestamp())
        ctx = WriteContext(
            self.store, self.name, run.id, self.counters,
            self.ws.settings.defaults.error_records_per_run, self.log.write,
            lambda payload, hashes: with_run_meta(self.site.platform, payload, self.name,
                                                  run.id, seen_ts, hashes))
        sender = None
        if destination is not None:
            sender = BatchSender(destination, ctx, self.site.limits.batch_size,
                                 max_inflight=max(2, self.site.limits.concurrency * 2))
        seen = SeenSet(work_dir / "seen.db")
        touches: list[str] = []
        limit = self.options.limit
        try:
            cutoff = refresh_cutoff(self.conn.stale.after_days, now)
            async for result in self._mapped_chunks(rules, spec, path, work_dir, cutoff):
                if limit is not None and self.counters.records + result.records > limit:
                    _cut(result, max(0, limit - self.counters.records))
                skipped = result.skipped.count(1)
                self.counters.records += len(result.outcomes) + len(result.new) + skipped
                self.counters.skipped += skipped
                self._record_problems(result)
                sendable, unchanged, new = self._settle(result, seen)
                self.counters.unchanged += len(unchanged)  # in the ledger as they are
                self.counters.created += new  # a dry run's creates: the ledger lacks them
                ledger, remote = await self._lookup(destination, sendable)
                plan = plan_chunk(
                    sendable, ledger, remote,
                    update_payload=lambda p, g: update_payload(rules, p, g),
                    after_days=self.conn.stale.after_days, now=now,
                    dry_run=self.options.dry_run)
                self.counters.unchanged += len(plan.unchanged)
                if not self.options.dry_run:  # a dry run leaves the ledger as it was
                    touches += unchanged + plan.unchanged
                if self.options.dry_run or sender is None:
                    for write in plan.writes:
                        setattr(self.counters, write.counts_as,
                                getattr(self.counters, write.counts_as) + 1)
                else:
                    await sender.add(plan.writes)
                    if sender.stopped():
                        break
                if len(touches) >= TOUCH_FLUSH:
                    self._flush_touches(run.id, touches)
                self.progress(ProgressEvent(self.name, "read", self.counters,
                                            bytes_done=result.bytes_end, bytes_total=size))
                if limit is not None and self.counters.records >= limit:
                    break
            else:
                self.complete_read = limit is None
        finally:
            if sender is not None:
                await sender.drain()
            self._flush_touches(run.id, touches)
            seen.close()
        if ctx.fatal:
            raise ctx.fatal[0]
        return "completed" if self.complete_read else "partial"

    async def _mapped_chunks(self, rules: RuleSet, spec: Any, path: Path, work_dir: Path,
                             cutoff: datetime) -> AsyncIterator[ChunkResult]:
        """Chunk results in feed order, their records numbered, with a bounded number in
        flight. Chunk ends are guessed (see feeds.plan_chunks, guess); when a worker finds a
        guess wrong, the chunks from there on are planned again with a more careful guess,
        and after that exactly."""
        loop = asyncio.get_running_loop()
        size = self.options.chunk_size
        guess: Guess | None = "lines"
        tasks: Iterator[ChunkTask] = plan_chunks(path, spec, work_dir, records_per_chunk=size,
                                                 guess=guess)
        # four chunks a worker: three processes share two cores on a small machine, and
        # with two the workers ran dry while the parent waited for a core (measured on a
        # 500 MB dry run: 4.4 -> 4.1 s; more gave nothing)
        window = max(2, self.options.workers * 4)
        shipping = Shipping(run_key=uuid.uuid4().hex,
                            payloads=not self.options.dry_run,
                            state_path=str(self.store.path), connection=self.name,
                            refresh_cutoff=cutoff)
        packed = pack_rules(rules)
        pending: list[asyncio.Future[ChunkResult]] = []
        exhausted, inline = False, False
        first_record = 1
        try:
            while True:
                while not exhausted and len(pending) < window:
                    # the last chunk planned in under a millisecond (guessed CSV ends): the
                    # next is planned here; slower planning (chunk files) goes to a thread
                    if inline:
                        task, seconds = _timed_next(tasks)
                    else:
                        task, seconds = await asyncio.to_thread(_timed_next, tasks)
                    inline = seconds < INLINE_PLANNING_S
                    if task is None:
                        exhausted = True
                        break
                    pending.append(asyncio.wrap_future(
                        self.executor.submit(map_chunk, task, packed, shipping), loop=loop))
                if not pending:
                    return
                result = await pending.pop(0)
                if result.misaligned_at is not None:
                    assert guess is not None  # an exact chunk is never misaligned
                    guess = CAREFUL[guess]
                    self.log.write("replan", offset=result.misaligned_at,
                                   message=_REPLAN[guess])
                    _abandon(pending)
                    pending, exhausted = [], False
                    tasks = plan_chunks(path, spec, work_dir, records_per_chunk=size,
                                        guess=guess, begin=result.misaligned_at)
                    inline = False
                    continue
                _renumber(result, first_record)
                first_record += result.records
                crash_point("after_chunk_mapped")
                yield result
        finally:
            _abandon(pending)  # the run is ending early: nothing left unretrieved
            forget_run(shipping.run_key)  # its state, where chunks ran in this process

    def _record_problems(self, result: ChunkResult) -> None:
        for problem in result.problems:
            self.log.write("record_problem", record=problem.record, column=problem.column,
                           message=problem.message)

    def _settle(self, result: ChunkResult, seen: SeenSet) -> tuple[list[Any], list[str], int]:
        """Record failed records and duplicate SKUs (the first wins); of the rest, (outcomes
        to diff, SKU keys of unchanged products, number of new products of a dry run)."""
        sendable = []
        errors: list[ErrorRecord] = []
        for outcome in result.outcomes:
            if outcome.verdict == "failed":
                errors.append(ErrorRecord("map", outcome.reason or "failed", outcome.sku,
                                          outcome.code, outcome.record))
            else:
                sendable.append(outcome)
        # a chunk's new SKUs are each the first of its kind there: checked before the rest
        new, first = result.new, result.first_record
        repeated = seen.duplicates([sku.lower() for sku in new])
        for i in repeated:
            errors.append(_duplicate(new[i], first + result.new_at[i]))
        keys = [o.sku.lower() for o in sendable]
        duplicates = set(seen.duplicates(keys))
        kept: list[Any] = []
        unchanged: list[str] = []
        for i, outcome in enumerate(sendable):
            if i in duplicates:
                errors.append(_duplicate(outcome.sku, outcome.record))
            elif outcome.verdict == "send":
                kept.append(outcome)
            else:
                unchanged.append(keys[i])
        if errors:
            errors.sort(key=lambda error: error.record or 0)
            self.counters.failed += len(errors)
            for error in errors:
                self.reasons[error.code or "failed"] += 1
                self.log.write("error", **error.__dict__)
            with self.store.transaction() as conn:
                self.store.add_errors(conn, self.run_id, errors,
                                      self.ws.settings.defaults.error_records_per_run)
                self.store.save_counters(conn, self.run_id, self.counters)
        return kept, unchanged, len(new) - len(repeated)

    async def _lookup(self, destination: Any, sendable: list[Any]) -> tuple[dict, dict]:
        """Ledger entries, and for SKUs the ledger lacks, the products the site already
        holds (with the hashes this connection wrote them with, if they say)."""
        keys = [o.sku.lower() for o in sendable]
        ledger = self.store.ledger_lookup(self.name, keys)
        missing = [o.sku for o in sendable if o.sku.lower() not in ledger]
        remote: dict[str, SiteEntry] = {}
        if destination is not None and missing:
            found = await destination.find_by_skus(missing)
            remote = {key: SiteEntry(product.id, site_hashes(product.meta, self.name))
                      for key, product in found.items()}
        return ledger, remote

    def _flush_touches(self, run_id: int, touches: list[str]) -> None:
        if touches:
            self.store.touch_seen(self.name, run_id, touches,
                                  datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
            touches.clear()


_REPLAN = {
    "quotes": "a line end inside a quoted field: chunks end where the quotes pair from here on",
    None: "a quote that does not pair: chunks are cut exactly from here on"}


def _duplicate(sku: str, record: int) -> ErrorRecord:
    return ErrorRecord("diff", f"duplicate SKU '{sku}': an earlier record of the feed has it, "
                       "and the first one wins", sku, "duplicate_sku", record)


def _cut(result: ChunkResult, take: int) -> None:
    """Keep only the chunk's first `take` records (`--limit`)."""
    result.outcomes = [o for o in result.outcomes if o.record < result.first_record + take]
    kept = [i for i, at in enumerate(result.new_at) if at < take]
    result.new = [result.new[i] for i in kept]
    result.new_at = array("I", [result.new_at[i] for i in kept])
    result.skipped = result.skipped[:take]


def _abandon(pending: list[asyncio.Future[Any]]) -> None:
    """Cancel chunks whose results will not be used, and retrieve those already done."""
    for future in pending:
        if future.done() and not future.cancelled():
            future.exception()
        else:
            future.cancel()


def _renumber(result: ChunkResult, first_record: int) -> None:
    """Number the chunk's records from `first_record` (a quick chunk numbers them from 1)."""
    delta = first_record - result.first_record
    if delta:
        for outcome in result.outcomes:
            outcome.record += delta
        for problem in result.problems:
            if problem.record is not None:
                problem.record += delta
        result.first_record = first_record


def _timed_next(tasks: Iterator[ChunkTask]) -> tuple[ChunkTask | None, float]:
    start = time.perf_counter()
    task = next(tasks, None)
    return task, time.perf_counter() - start
