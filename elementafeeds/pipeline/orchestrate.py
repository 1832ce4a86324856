"""Run several connections at once: one state store, one chunk pool, shared site limits.

Each site's limits are shared by every connection that writes to it (one gate per site), so
one process keeps hundreds of slow stores busy while the stores set the pace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone

from elementafeeds.config.loader import Workspace
from elementafeeds.config.models import Site
from elementafeeds.errors import UsageError
from elementafeeds.pipeline.pool import make_executor
from elementafeeds.pipeline.progress import ProgressSink, no_progress
from elementafeeds.pipeline.runner import ConnectionRun, RunOptions, RunReport
from elementafeeds.pipeline.schedule import is_due
from elementafeeds.pipeline.sites import destination_factory, embedded_sandbox
from elementafeeds.state.store import StateStore

@dataclass(frozen=True)
class Selection:
    names: tuple[str, ...] = ()
    all: bool = False
    due: bool = False


def select_connections(ws: Workspace, store: StateStore, selection: Selection,
                       now: datetime | None = None) -> list[str]:
    """The connections a `ef run` selection names, in a stable order."""
    if selection.names:
        for name in selection.names:
            ws.connection(name)  # raises ConfigError with a did-you-mean hint
        return list(dict.fromkeys(selection.names))
    if selection.due:
        now = now or datetime.now(timezone.utc)
        last = {name: store.last_real_run(name) for name in ws.connections}
        return [n for n, c in sorted(ws.connections.items()) if is_due(c, last[n], now)]
    if selection.all:
        return [n for n, c in sorted(ws.connections.items()) if c.enabled]
    raise UsageError("name one or more connections, or pass --all or --due",
                     hint="ef run CONNECTION…  |  ef run --all  |  ef run --due (for cron)")


def run_connections(ws: Workspace, selection: Selection, options: RunOptions,
                    parallel: int = 4, progress: ProgressSink = no_progress) -> list[RunReport]:
    store = StateStore(ws.state_path)
    try:
        names = select_connections(ws, store, selection)
    finally:
        store.close()  # closed before the pool forks: a child never inherits a connection
    if not names:  # `--due` from cron with nothing due: no pool at all
        return []
    with ExitStack() as stack:
        # the pool first: its workers fork before any thread or database connection exists
        executor = stack.enter_context(make_executor(options.workers))
        store = StateStore(ws.state_path)
        stack.callback(store.close)
        sites = stack.enter_context(embedded_sandbox(
            ws, [ws.connections[n].site for n in names], options.dry_run))
        factory = destination_factory()
        return asyncio.run(_run_all(ws, sites, names, store, executor, factory, options,
                                    parallel, progress))


async def _run_all(ws: Workspace, sites: dict[str, Site], names: Sequence[str],
                   store: StateStore, executor, factory, options: RunOptions, parallel: int,
                   progress: ProgressSink) -> list[RunReport]:
    slots = asyncio.Semaphore(max(1, parallel))

    async def one(name: str) -> RunReport:
        async with slots:
            run = ConnectionRun(ws, name, store, executor, factory, options, progress)
            run.site = sites.get(run.site.name, run.site)
            return await run.execute()

    return list(await asyncio.gather(*(one(n) for n in names)))
