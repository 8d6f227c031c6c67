"""The writer: the one thread that runs every request that changes the host.

Requests run in arrival order. Requests of one ``link_delete`` each that wait in
line one after another run as one (linkdel.delete_together): an engine deleting
a stack's veth pairs hands several over at once, and the kernel deletes them
together for the price of one. The writer keeps its netlink sockets in other
namespaces between requests and closes the idle ones (context.py).
"""

from __future__ import annotations

import collections
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from .args import Args
from .context import Context, keep_sockets, sweep_kept
from .errors import AgentError, describe
from .linkdel import delete_together

if TYPE_CHECKING:  # hosts run Python 3.6: no subscripted builtins at run time
    from .main import Server
    from .ops import OpSpec

    # (request id, its ops, its time limit, when it arrived)
    Job = tuple[int, list[tuple[str, OpSpec, dict[str, Any]]], float, float]

MOST_TOGETHER = 64
SWEEP_EVERY = 1.0


def _lone_delete(job: Job) -> bool:
    return len(job[1]) == 1 and job[1][0][0] == "link_delete"


class Writer:
    def __init__(self, server: Server) -> None:
        self._server = server
        self._jobs: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._swept = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="hostnet-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._cond:
            self._jobs.append(job)
            self._cond.notify()

    def close(self) -> None:
        """Run what is in line, then end (closing every kept socket)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _next(self) -> list[Job]:
        with self._cond:
            if not self._jobs and not self._closing:
                self._cond.wait(SWEEP_EVERY)
            if not self._jobs:
                return []
            taken = [self._jobs.popleft()]
            while (
                _lone_delete(taken[0])
                and self._jobs
                and _lone_delete(self._jobs[0])
                and len(taken) < MOST_TOGETHER
            ):
                taken.append(self._jobs.popleft())
            return taken

    def _loop(self) -> None:
        keep_sockets()
        while True:
            taken = self._next()
            if not taken and self._closing:
                break
            try:
                if len(taken) == 1:
                    rid, batch, timeout, start = taken[0]
                    self._server.run(rid, batch, timeout, start=start)
                elif taken:
                    self._deletes(taken)
            except Exception:  # the server answers every request itself
                traceback.print_exc(file=sys.stderr)
            if time.monotonic() - self._swept >= SWEEP_EVERY:
                sweep_kept()
                self._swept = time.monotonic()
        sweep_kept(idle=0.0)

    def _deletes(self, jobs: list[Job]) -> None:
        """Lone link deletes as one: one lock, one group delete per namespace."""
        now = time.monotonic()
        late = [job for job in jobs if job[3] + job[2] <= now]
        for rid, batch, timeout, start in late:  # each answers its Timeout alone
            self._server.run(rid, batch, timeout, start=start)
        jobs = [job for job in jobs if job not in late]
        if not jobs:
            return
        deadline = min(start + timeout for _, _, timeout, start in jobs)
        ctx = Context(deadline=deadline)
        try:
            self._server.lock.acquire(deadline)
        except AgentError as exc:
            ctx.close()
            busy = describe(exc, index=0, op="link_delete")
            for rid, _, _, start in jobs:
                self._server.answer(rid, [], busy, start=start)
            return
        try:
            answers = delete_together(ctx, [Args("link_delete", job[1][0][2]) for job in jobs])
        finally:
            ctx.close(ok=True)
            self._server.lock.release()
        for number, (rid, _, _, start) in enumerate(jobs):  # no zip(strict=) on 3.6
            result, error = answers[number]
            self._server.answer(rid, [] if error else [result], error, start=start)
