"""Send planned writes to a site in batches, several in flight, and record each answer.

After every batch the ledger rows, the run's counters and its error records are committed in
one SQLite transaction: a crash loses at most the batches in flight, and the next run finds
those products on the site by SKU before creating anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elementafeeds.destinations.base import WriteOp, WriteResult
from elementafeeds.errors import SiteError
from elementafeeds.pipeline.crash import crash_point
from elementafeeds.pipeline.diff import PlannedWrite
from elementafeeds.state.records import Counters, ErrorRecord, LedgerWrite
from elementafeeds.state.store import StateStore, utcnow


GONE_CODES = frozenset({"woocommerce_rest_product_invalid_id", "rest_post_invalid_id"})
"""The product was deleted on the site: the next run creates it again."""


@dataclass
class WriteContext:
    """What the batch sender needs from the run, kept small and explicit."""

    store: StateStore
    connection: str
    run_id: int
    counters: Counters
    error_cap: int
    log: Callable[..., None]
    add_meta: Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]
    """(payload, the write's hashes) → the payload with the run's meta."""
    fatal: list[BaseException] = field(default_factory=list)


class BatchSender:
    def __init__(self, destination: Any, ctx: WriteContext, batch_size: int,
                 max_inflight: int) -> None:
        self.destination = destination
        self.ctx = ctx
        self.batch_size = batch_size
        self.pending: list[PlannedWrite] = []
        self.slots = asyncio.Semaphore(max_inflight)
        self.tasks: set[asyncio.Task[None]] = set()

    async def add(self, writes: list[PlannedWrite]) -> None:
        self.pending.extend(writes)
        while len(self.pending) >= self.batch_size:
            batch, self.pending = self.pending[:self.batch_size], self.pending[self.batch_size:]
            await self._dispatch(batch)

    async def drain(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            await self._dispatch(batch)
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def stopped(self) -> bool:
        return bool(self.ctx.fatal)

    async def _dispatch(self, batch: list[PlannedWrite]) -> None:
        if self.ctx.fatal:
            raise self.ctx.fatal[0]
        await self.slots.acquire()
        task = asyncio.create_task(self._send(batch))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send(self, batch: list[PlannedWrite]) -> None:
        try:
            ops = [WriteOp(w.action, w.sku, self.ctx.add_meta(w.payload, w.hashes),
                           w.product_id) for w in batch]
            crash_point("before_batch_sent")
            try:
                results = await self.destination.write(ops)
            except SiteError as exc:
                # What finished before the site gave up is real and must be recorded.
                self.ctx.fatal.append(exc)
                done = getattr(exc, "partial_results", None) or [None] * len(batch)
                self._record(batch, [r or WriteResult(w.sku, "failed", None, exc.code,
                                                      exc.message) for w, r in zip(batch, done)])
                return
            crash_point("after_batch_answered")
            self._record(batch, results)
        except BaseException as exc:  # recorded for the run; never lost in a task
            self.ctx.fatal.append(exc)
        finally:
            self.slots.release()

    def _record(self, batch: list[PlannedWrite], results: list[WriteResult]) -> None:
        ctx = self.ctx
        now = utcnow()
        rows: list[LedgerWrite] = []
        errors: list[ErrorRecord] = []
        vanished: list[str] = []
        for planned, result in zip(batch, results):
            if result.code in GONE_CODES:
                vanished.append(planned.sku.lower())  # deleted on the site: forget its id
            if result.status == "failed" and planned.counts_as != "unchanged":
                ctx.counters.failed += 1
                errors.append(ErrorRecord("write", result.message or "write failed",
                                          planned.sku, result.code, planned.record))
                continue
            if result.status == "failed":  # a last-seen refresh failed; the product is fine
                ctx.counters.unchanged += 1
                errors.append(ErrorRecord("refresh", result.message or "refresh failed",
                                          planned.sku, result.code, planned.record))
                continue
            if planned.counts_as == "unchanged":
                ctx.counters.unchanged += 1
            elif result.status == "created":
                ctx.counters.created += 1
            else:
                ctx.counters.updated += 1
            for warning in result.warnings:
                errors.append(ErrorRecord("write", warning, planned.sku, "warning",
                                          planned.record))
            if result.product_id is not None:
                hashes = planned.hashes
                if result.retry_groups:
                    hashes = {g: h for g, h in hashes.items() if g not in result.retry_groups}
                rows.append(LedgerWrite(planned.sku, result.product_id, hashes, now))
        for error in errors:
            ctx.log("error", **error.__dict__)
        with ctx.store.transaction() as conn:
            ctx.store.forget(conn, ctx.connection, vanished)
            ctx.store.write_ledger(conn, ctx.connection, ctx.run_id, rows, now)
            ctx.store.add_errors(conn, ctx.run_id, errors, ctx.error_cap)
            ctx.store.save_counters(conn, ctx.run_id, ctx.counters)
            crash_point("during_ledger_commit")
        crash_point("after_ledger_commit")
