"""Render run progress: live bars on a terminal, one plain line per milestone elsewhere."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from elementafeeds.cli import common
from elementafeeds.pipeline.progress import ProgressEvent, ProgressSink


def _counts(event: ProgressEvent) -> str:
    c = event.counters
    return (f"{c.records} read  C {c.created}  U {c.updated}  N {c.unchanged}  "
            f"S {c.skipped}  F {c.failed}")


@contextmanager
def progress_sink(enabled: bool) -> Iterator[ProgressSink]:
    if not enabled:
        yield lambda event: None
        return
    if not common.err_console.is_terminal:
        yield _plain_lines()
        return
    bars = Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[counts]}"),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=common.err_console,
        transient=False, auto_refresh=False,  # no refresh thread: the chunk pool forks after
    )
    shown = [0.0]
    tasks: dict[str, TaskID] = {}
    started: dict[str, float] = {}

    def sink(event: ProgressEvent) -> None:
        if event.connection not in tasks:
            started[event.connection] = time.monotonic()
            tasks[event.connection] = bars.add_task(
                common.escape(event.connection), total=None, counts="", rate="")
        elapsed = max(time.monotonic() - started[event.connection], 1e-6)
        rate = f"{event.counters.records / elapsed:,.0f} rec/s"
        bars.update(tasks[event.connection], counts=_counts(event), rate=rate,
                    description=f"{common.escape(event.connection)} [{event.phase}]")
        if event.bytes_done is not None and event.bytes_total:  # the size is known: ETA
            bars.update(tasks[event.connection], total=event.bytes_total,
                        completed=event.bytes_done)
        if event.phase == "finish":
            bars.update(tasks[event.connection], total=1, completed=1,
                        description=f"{common.escape(event.connection)} {event.message}")
        now = time.monotonic()
        if now - shown[0] >= 0.1 or event.phase == "finish":
            shown[0] = now
            bars.refresh()

    with bars:
        yield sink


def _plain_lines() -> ProgressSink:
    last: dict[str, float] = {}
    started: dict[str, float] = {}

    def sink(event: ProgressEvent) -> None:
        now = time.monotonic()
        started.setdefault(event.connection, now)
        if event.phase == "read" and now - last.get(event.connection, 0) < 10:
            return  # one line per ten seconds of reading is enough for cron mail
        last[event.connection] = now
        detail = f" {event.message}" if event.message else ""
        common.err_console.print(
            f"{event.connection}: {event.phase}{detail} — {_counts(event)}"
            f"{_eta(event, now - started[event.connection])}", markup=False, soft_wrap=True)

    return sink


def _eta(event: ProgressEvent, elapsed: float) -> str:
    """' — 42 %, about 1 min 20 s left' when the feed's size and position are known."""
    done, total = event.bytes_done, event.bytes_total
    if event.phase != "read" or not done or not total:
        return ""
    left = round(elapsed * (total - done) / done)
    when = f"{left // 60} min {left % 60} s" if left >= 60 else f"{left} s"
    return f" — {100 * done // total} %, about {when} left"
