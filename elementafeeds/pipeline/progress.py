"""Progress events from a run, for the CLI to render (bars on a terminal, lines elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from elementafeeds.state.records import Counters


@dataclass(frozen=True)
class ProgressEvent:
    connection: str
    phase: str  # "lock", "fetch", "read", "write", "finish"
    counters: Counters
    bytes_done: int | None = None
    bytes_total: int | None = None
    message: str | None = None


class ProgressSink(Protocol):
    def __call__(self, event: ProgressEvent) -> None: ...


def no_progress(event: ProgressEvent) -> None:
    """The default sink: library code never prints."""
