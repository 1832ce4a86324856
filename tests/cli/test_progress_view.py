"""Progress lines for cron mail and CI logs: counts, and an ETA when the feed's size is known."""

from __future__ import annotations

import pytest

from elementafeeds.cli.progress_view import _eta, _plain_lines
from elementafeeds.pipeline.progress import ProgressEvent
from elementafeeds.state.records import Counters


def event(phase: str, done: int | None = None, total: int | None = None) -> ProgressEvent:
    return ProgressEvent("shop-feed", phase, Counters(records=10, created=4, skipped=6),
                         bytes_done=done, bytes_total=total)


def test_eta_from_the_share_of_bytes_read() -> None:
    assert _eta(event("read", 25, 100), elapsed=10) == " — 25 %, about 30 s left"
    assert _eta(event("read", 10, 100), elapsed=20) == " — 10 %, about 3 min 0 s left"
    assert _eta(event("read"), elapsed=10) == ""  # XML/JSON chunk files: position unknown
    assert _eta(event("finish", 100, 100), elapsed=10) == ""


def test_plain_lines_show_counts_and_eta(capsys: pytest.CaptureFixture[str]) -> None:
    sink = _plain_lines()
    sink(event("fetch"))
    sink(event("read", 50, 200))  # within ten seconds of the last line: not printed
    sink(event("finish"))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["shop-feed: fetch — 10 read  C 4  U 0  N 0  S 6  F 0",
                     "shop-feed: finish — 10 read  C 4  U 0  N 0  S 6  F 0"]
    first_read = _plain_lines()
    first_read(event("read", 50, 200))
    assert "25 %, about" in capsys.readouterr().err
