"""The chunk pool: worker processes fed by the event loop, or an in-process executor.

A worker that is killed (the OOM killer) must fail the run at once: `multiprocessing.Pool`
waits forever then. `ChunkPool` reports BrokenProcessPool as `concurrent.futures`'
ProcessPoolExecutor does, without the two threads that executor runs in the parent.

A forked child must never inherit a lock another thread held, nor an open SQLite connection.
So the pool is made first, while the process has one thread and no database open, and every
worker is forked at once: the workers share the parent's imported modules page for page, and
no forkserver or resource-tracker process is needed (measured: 33 MB less in all). A process
that already runs threads (tests, embedding) gets workers from a forkserver instead.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import pickle
import signal
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
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


class ChunkPool(Executor):
    """Worker processes that each take tasks from a pipe and answer on it, driven by the
    event loop that submits: no feeder or manager thread.

    `concurrent.futures.ProcessPoolExecutor` moves every task and result through two threads
    of the parent, which woke for each chunk and cost about 0.4 s of CPU on a 500 MB dry run
    (measured), on a machine where the parent shares two cores with two workers. Here the
    loop reads each worker's answers when its pipe is readable, and hands a worker its next
    task at once. Like ProcessPoolExecutor, and unlike `multiprocessing.Pool`, a worker that
    dies (the OOM killer) breaks the pool at once: its exit wakes the loop, and every task
    in flight or waiting fails with BrokenProcessPool.

    `submit` must be called from a running event loop and returns an asyncio future. A
    worker holds up to two tasks, so it never waits for the parent between chunks; the
    second only when it is small enough to wait in the pipe's buffer (a larger one waits
    for the worker to be idle, so parent and worker never both block on a full pipe)."""

    def __init__(self, workers: int, context: BaseContext,
                 initializer: Callable[[], None] | None = None) -> None:
        self._workers: list[_Worker] = []
        forked = context.get_start_method() == "fork"
        for _ in range(workers):
            ours, theirs = context.Pipe()
            # a forked worker inherits the parent's ends of the pipes: it closes them, or it
            # would never see its own pipe end when the parent closes it
            inherited = [w.conn.fileno() for w in self._workers] + [ours.fileno()] \
                if forked else []
            process = context.Process(  # type: ignore[attr-defined]
                target=_serve, args=(theirs, initializer, inherited), daemon=True)
            process.start()
            theirs.close()
            self._workers.append(_Worker(process, ours))
        self._waiting: deque[tuple[asyncio.Future[Any], bytes]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broken: str | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        self._attach(loop)
        future: asyncio.Future[Any] = loop.create_future()
        if self._broken is not None:
            future.set_exception(BrokenProcessPool(self._broken))
            return future
        self._waiting.append((future, pickle.dumps((fn, args, kwargs),
                                                   protocol=pickle.HIGHEST_PROTOCOL)))
        self._dispatch()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Let the workers finish their tasks and exit (a broken pool's are ended at once:
        their answers would never be read)."""
        self._detach()
        for worker in self._workers:
            worker.conn.close()  # the worker reads the end of its pipe and exits
        patience = 10 if wait and self._broken is None else 0
        for worker in self._workers:
            worker.process.join(timeout=patience)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join()
        self._fail("the pool was shut down")

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        self._loop = loop  # a new loop (another asyncio.run): the old one is closed
        for worker in self._workers:
            loop.add_reader(worker.conn.fileno(), self._on_answer, worker)
            loop.add_reader(worker.process.sentinel, self._on_exit, worker)

    def _detach(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        for worker in self._workers:
            loop.remove_reader(worker.conn.fileno())
            loop.remove_reader(worker.process.sentinel)

    def _dispatch(self) -> None:
        while self._waiting and self._broken is None:
            worker = min(self._workers, key=lambda w: len(w.futures))
            future, data = self._waiting[0]
            if worker.futures and (len(worker.futures) > 1 or len(data) > QUEUED_TASK_BYTES):
                return
            self._waiting.popleft()
            if future.cancelled():
                continue
            worker.futures.append(future)
            try:
                worker.conn.send_bytes(data)
            except OSError:  # it died before the loop could tell
                self._on_exit(worker)

    def _on_answer(self, worker: _Worker) -> None:
        try:
            ok, value = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError):
            self._on_exit(worker)
            return
        future = worker.futures.popleft()
        if not future.done():  # an abandoned chunk's result is dropped
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        self._dispatch()

    def _on_exit(self, worker: _Worker) -> None:
        self._detach()
        self._fail(f"a pool worker process (pid {worker.process.pid}) died")

    def _fail(self, why: str) -> None:
        if self._broken is None:
            self._broken = why
        futures = [f for w in self._workers for f in w.futures]
        futures += [f for f, _ in self._waiting]
        for worker in self._workers:
            worker.futures.clear()
        self._waiting.clear()
        for future in futures:
            if not future.done() and not future.get_loop().is_closed():
                future.set_exception(BrokenProcessPool(self._broken))


QUEUED_TASK_BYTES = 32 * 1024
"""A task this small waits in a busy worker's pipe (whose buffer holds far more)."""


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    futures: deque[asyncio.Future[Any]] = field(default_factory=deque)


def _serve(conn: Connection, initializer: Callable[[], None] | None,
           inherited: list[int]) -> None:
    """A pool worker: answer each task, in order, until the parent closes the pipe. Ctrl-C
    is the parent's to handle: it closes the pipes, and the workers end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for fd in inherited:
        os.close(fd)
    if initializer is not None:
        initializer()
    while True:
        try:
            fn, args, kwargs = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            answer = (True, fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent's future
            answer = (False, exc)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an answer that cannot cross processes
            data = pickle.dumps((False, RuntimeError(
                f"a pool worker's answer could not be sent: {type(exc).__name__}: {exc}")))
        try:
            conn.send_bytes(data)
        except OSError:
            return


def make_executor(workers: int) -> Executor:
    return_large_blocks()
    if workers <= 1:
        return InlineExecutor()
    if threading.active_count() == 1:
        gc.freeze()  # the collector of a worker then never writes to (and copies) shared pages
        return ChunkPool(workers, multiprocessing.get_context("fork"), keep_chunk_buffers)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return ChunkPool(workers, context, keep_chunk_buffers)
