"""The provider host's gRPC pool, widened from 4 threads, really runs more calls
at once after a backlog: the state in which hostnet's module is first imported
(the engine's first calls wait behind 4 threads while the import runs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from pulumi_hostnet._provider import POOL_THREADS, _start_every_thread

AT_ONCE = 12


def _after_a_backlog() -> ThreadPoolExecutor:
    """A pool of 4 that served 4 long calls while 8 more waited, as the provider
    host's is when the first call has imported hostnet."""
    pool = ThreadPoolExecutor(max_workers=4)
    release = threading.Event()
    done = [pool.submit(release.wait, 5) for _ in range(4)]
    done += [pool.submit(lambda: None) for _ in range(8)]
    release.set()
    for future in done:
        future.result(timeout=5)
    return pool


def _run_together(pool: ThreadPoolExecutor) -> bool:
    """Whether AT_ONCE calls submitted now all run at the same time."""
    barrier = threading.Barrier(AT_ONCE, timeout=1.0)

    def meet() -> bool:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return False
        return True

    futures = [pool.submit(meet) for _ in range(AT_ONCE)]
    return all(future.result(timeout=5) for future in futures)


def _raise_only(pool: ThreadPoolExecutor) -> None:
    pool._max_workers = POOL_THREADS  # type: ignore[attr-defined]


def _raise_and_start(pool: ThreadPoolExecutor) -> None:
    pool._max_workers = POOL_THREADS  # type: ignore[attr-defined]
    _start_every_thread(pool)


@pytest.mark.parametrize(
    ("widen", "together"),
    [(_raise_only, False), (_raise_and_start, True)],
    ids=["raised", "started"],
)
def test_a_widened_pool_runs_calls_together_after_a_backlog(
    widen: Callable[[ThreadPoolExecutor], None], together: bool
) -> None:
    """Raising the limit alone leaves the pool at 4 threads (the finished calls'
    idle credits outnumber the threads); starting the threads makes it serve
    AT_ONCE calls at once. The first case shows the second is needed."""
    pool = _after_a_backlog()
    try:
        widen(pool)
        assert _run_together(pool) is together
        if together:
            assert len(pool._threads) == POOL_THREADS  # type: ignore[attr-defined]
    finally:
        pool.shutdown(wait=True)
