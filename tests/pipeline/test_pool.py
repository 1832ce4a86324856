"""The chunk pool: answers in order, errors and big messages cross, a dead worker breaks it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from elementafeeds.errors import HostileFeedError
from elementafeeds.pipeline.pool import QUEUED_TASK_BYTES, ChunkPool


def _echo(value: object) -> object:
    return value


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _fail(message: str) -> None:
    raise HostileFeedError(message, hint="a hint")


def _sleep_then(seconds: float, value: object) -> object:
    time.sleep(seconds)
    return value


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(params=["fork", "forkserver"])
def pool(request: pytest.FixtureRequest):
    with ChunkPool(2, multiprocessing.get_context(request.param)) as chunk_pool:
        yield chunk_pool


def test_answers_come_back_to_their_futures_from_both_workers(pool: ChunkPool) -> None:
    async def main() -> list:
        return await asyncio.gather(*(pool.submit(_echo, i) for i in range(200)))

    assert asyncio.run(main()) == list(range(200))
    workers = asyncio.run(_workers_used(pool))
    assert len(workers) == 2 and os.getpid() not in workers


async def _workers_used(pool: ChunkPool) -> set[int]:
    return set(await asyncio.gather(*(pool.submit(_pid_after, 0.05) for _ in range(8))))


def test_an_error_crosses_with_its_type_and_hint(pool: ChunkPool) -> None:
    async def main() -> None:
        with pytest.raises(HostileFeedError) as caught:
            await pool.submit(_fail, "too big")
        assert caught.value.message == "too big" and caught.value.hint == "a hint"
        assert await pool.submit(_echo, "still up") == "still up"

    asyncio.run(main())


def test_tasks_and_answers_larger_than_a_pipe_never_deadlock(pool: ChunkPool) -> None:
    big = b"x" * (4 * 1024 * 1024)  # far over a pipe's buffer, and over QUEUED_TASK_BYTES
    assert len(big) > QUEUED_TASK_BYTES

    async def main() -> list[int]:
        answers = await asyncio.gather(*(pool.submit(_echo, big + bytes([i]))
                                         for i in range(12)))
        return [a[-1] for a in answers]

    assert asyncio.run(main()) == list(range(12))


def test_an_abandoned_task_is_dropped_and_the_pool_goes_on(pool: ChunkPool) -> None:
    async def main() -> object:
        slow = [pool.submit(_sleep_then, 0.2, i) for i in range(6)]
        for future in slow:
            future.cancel()
        return await pool.submit(_echo, "next")

    assert asyncio.run(main()) == "next"


def test_a_killed_worker_breaks_the_pool_at_once() -> None:
    with ChunkPool(2, multiprocessing.get_context("fork")) as pool:
        async def main() -> None:
            start = time.monotonic()
            dying = pool.submit(_die)
            others = [pool.submit(_sleep_then, 5, i) for i in range(6)]  # running or waiting
            with pytest.raises(BrokenProcessPool, match="died"):
                await dying
            for future in others:
                with pytest.raises(BrokenProcessPool):
                    await future
            assert time.monotonic() - start < 4  # not after the sleeping tasks
            with pytest.raises(BrokenProcessPool):
                await pool.submit(_echo, 1)

        asyncio.run(main())
    assert not multiprocessing.active_children()


def test_shutdown_ends_every_worker() -> None:
    pool = ChunkPool(2, multiprocessing.get_context("fork"))
    pids = asyncio.run(_workers_used(pool))
    pool.shutdown()
    assert len(pids) == 2 and not multiprocessing.active_children()
