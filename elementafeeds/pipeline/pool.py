"""The chunk pool: a process pool, or an in-process executor with the same interface.

`concurrent.futures.ProcessPoolExecutor`, not `multiprocessing.Pool`: when a worker is killed
(the OOM killer), the former reports BrokenProcessPool at once, the latter waits forever.

A forked child must never inherit a lock another thread held, nor an open SQLite connection.
So the pool is made first, while the process has one thread and no database open, and every
worker is forked at once: the workers share the parent's imported modules page for page, and
no forkserver or resource-tracker process is needed (measured: 33 MB less in all). A process
that already runs threads (tests, embedding) gets workers from a forkserver instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import multiprocessing
import threading
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


M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024


M_TRIM_THRESHOLD = -1
WORKER_MMAP_THRESHOLD = 8 * 1024 * 1024


def _mallopt(*settings: tuple[int, int]) -> None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            for param, value in settings:
                libc.mallopt(param, value)
    except OSError:
        pass


def keep_chunk_buffers() -> None:
    """In a pool worker: keep freed chunk-sized blocks in the heap for the next chunk.

    Under the parent's 128 KB threshold every chunk's read buffer, decoded text and line
    buffer (a few hundred KB each) were fresh mmap pages, zeroed and faulted in anew for each
    chunk (measured: decoding cost 5x, reading a chunk 25 % more). A worker's heap holds
    about one chunk's worth, so this costs a few MB and does not grow."""
    _mallopt((M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD),
             (M_TRIM_THRESHOLD, 2 * WORKER_MMAP_THRESHOLD))


def return_large_blocks() -> None:
    """Make glibc give large freed blocks back to the system (and so to the RSS figures).

    glibc raises its mmap threshold to the size of each large block freed, up to 32 MB, after
    which the multi-megabyte read buffers of a run come from the heap and stay resident when
    freed. Pinning the threshold at its 128 KB default kept the parent of a dry run 25 MB
    smaller (measured). Workers set their own (`keep_chunk_buffers`). Not glibc: nothing to
    do."""
    _mallopt((M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def _started() -> None:
    """A task that proves a worker is up."""


def make_executor(workers: int) -> Executor:
    return_large_blocks()
    if workers <= 1:
        return InlineExecutor()
    if threading.active_count() == 1:
        gc.freeze()  # the collector of a worker then never writes to (and copies) shared pages
        executor = ProcessPoolExecutor(max_workers=workers, initializer=keep_chunk_buffers,
                                       mp_context=multiprocessing.get_context("fork"))
        # With fork, the first submit forks every worker before the pool starts its own thread.
        executor.submit(_started).result()
        return executor
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, initializer=keep_chunk_buffers,
                               mp_context=context)
