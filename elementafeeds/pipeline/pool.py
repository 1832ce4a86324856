"""The chunk pool: a process pool, or an in-process executor with the same interface.

`concurrent.futures.ProcessPoolExecutor`, not `multiprocessing.Pool`: when a worker is killed
(the OOM killer), the former reports BrokenProcessPool at once, the latter waits forever.
Workers come from a forkserver, so a parent with threads (the embedded sandbox, asyncio) is
never forked mid-lock.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

PRELOAD = ["elementafeeds.pipeline.worker"]


class InlineExecutor(Executor):
    """Runs each task at submit time in this process: for one worker, and for tests."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def make_executor(workers: int) -> Executor:
    if workers <= 1:
        return InlineExecutor()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)
