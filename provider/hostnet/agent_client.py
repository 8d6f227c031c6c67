"""A running agent on one host, shared by every thread of the controller.

Requests carry ids, so the four worker threads of a Pulumi provider process can
have requests in flight on one channel at once; a reader thread hands each
answer to the thread waiting for it.

Reads from snapshots (``serve_reads``): until this process sends the host its
first change, a read op is answered from a ``snapshot`` of its namespace, fetched
once per namespace and part by whichever thread asks first (hostnet.agent.select
gives the same answer the op would); a refresh then costs a round trip or two per
namespace, not one per object. From the first change on, every read goes to the
host: what an update reads back must be what it made. A read the snapshot cannot
answer (an argument the agent would refuse, a sysctl it did not read) goes to the
host as well. Every request is counted (hostnet.stats).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import itertools
import marshal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from hostnet import errors, stats
from hostnet.agent import select
from hostnet.protocol import Op, Reply, decode_reply, encode_request, raise_for_reply

# A time by which every request of this thread must be answered (time.monotonic()),
# set while a guarded change runs: a request sent over a path the change cut must
# not outlive the guard's deadline, and none is sent once the time is up.
_answer_by: contextvars.ContextVar[float | None] = contextvars.ContextVar("answer_by", default=None)


@contextlib.contextmanager
def answered_by(deadline: float) -> Iterator[None]:
    """Bound every request this thread sends within the block by ``deadline``."""
    reset = _answer_by.set(deadline)
    try:
        yield
    finally:
        _answer_by.reset(reset)


def _copy_of(answer: Any) -> Any:
    """A copy of an answer taken from a snapshot: callers may change what they get,
    and the snapshot serves others. Answers are decoded JSON, which marshal copies
    in C: a namespace's 160 links in 0.09 ms against deepcopy's 0.66 ms."""
    try:
        return marshal.loads(marshal.dumps(answer))  # noqa: S302  # bytes it just made
    except ValueError:  # not plain data after all
        return copy.deepcopy(answer)


class Lines(Protocol):
    def readline(self) -> bytes: ...


class Channel(Protocol):
    def sendall(self, data: bytes) -> None: ...
    def close(self) -> None: ...


# Ops that leave the host as it is; any other op is a change, after which reads
# are no longer served from snapshots.
READS = frozenset(select.KEYS) | {
    "ping",
    "info",
    "addr_list",
    "route_get",
    "netns_resolve",
    "dump",
    "dump_all",
    "probe",
    "snapshot",
    "reads",
}
_UNAVAILABLE = object()
# Hosts this process has changed, by address: shared by every agent, since two
# connections (other settings, a reconnect) may reach the same host.
_CHANGED: set[str] = set()


class _Snapshot:
    """One namespace's snapshot part, fetched by the first thread that needs it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: Any = _UNAVAILABLE


class _Waiter:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: Reply | None = None


class Agent:
    """Send batches of ops to one host's agent and wait for the answers."""

    def __init__(
        self,
        *,
        host: str,
        channel: Channel,
        stdout: Lines,
        info: dict[str, Any],
        default_timeout: float = 120.0,
        serve_reads: bool = False,
    ) -> None:
        self.host = host
        self.info = info
        self.default_timeout = default_timeout
        self._channel = channel
        self._stdout = stdout
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        self._waiters_lock = threading.Lock()
        self._closed: str | None = None
        self._serve_reads = serve_reads
        self._snapshots: dict[tuple[str | None, str], _Snapshot] = {}
        self._snapshots_lock = threading.Lock()
        stats.agent_started(host)
        self._reader = threading.Thread(
            target=self._read_loop, name=f"hostnet-agent-{host}", daemon=True
        )
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._closed is None

    def call(self, op: str, /, **args: Any) -> Any:
        """Run one op and return its result."""
        return self.batch([Op(op=op, args=args)])[0]

    def batch(self, ops: list[Op], *, timeout: float | None = None) -> list[Any]:
        """Run ops in order on the host; raise at the first that fails."""
        if not ops:
            return []
        if self._serve_reads and self.host not in _CHANGED:
            served = self._from_snapshots(ops, timeout=timeout)
            if served is not None:
                stats.served(self.host, len(ops))
                return served
        change = any(op.op not in READS for op in ops)
        if change and self.host not in _CHANGED:
            _CHANGED.add(self.host)  # before sending: a read from now on goes to the host
            with self._snapshots_lock:
                self._snapshots.clear()
        return self._send(ops, timeout=timeout, change=change)

    def _from_snapshots(self, ops: list[Op], *, timeout: float | None) -> list[Any] | None:
        """The answers of read ops from their namespaces' snapshots; None when one
        of them must go to the host."""
        if any(op.op not in select.PART for op in ops):
            return None
        results = []
        for op in ops:
            args = op.wire()["args"]
            ref = args.get("netns")
            if ref is not None and not isinstance(ref, str):
                return None
            found = self._snapshot(ref, select.PART[op.op], timeout=timeout)
            if found is _UNAVAILABLE:
                return None
            try:
                results.append(_copy_of(select.answer(found, op.op, args)))
            except select.Miss:
                return None
        return results

    def _snapshot(self, ref: str | None, part: str, *, timeout: float | None) -> Any:
        with self._snapshots_lock:
            pending = self._snapshots.get((ref, part))
            fetch = pending is None
            if pending is None:
                pending = self._snapshots[(ref, part)] = _Snapshot()
        if not fetch:
            pending.event.wait()  # the fetching thread's request is bounded by its timeout
            return pending.value
        try:
            op = Op(op="snapshot", args={"netns": ref, "parts": [part]})
            pending.value = self._send([op], timeout=timeout, change=False)[0]
        except errors.HostnetError:
            pass  # the reads go to the host, which says what is wrong
        finally:
            pending.event.set()
        return pending.value

    def _send(self, ops: list[Op], *, timeout: float | None, change: bool) -> list[Any]:
        limit = self.default_timeout if timeout is None else timeout
        margin = 5.0
        answer_by = _answer_by.get()
        if answer_by is not None:
            left = answer_by - time.monotonic()
            if left <= 0:
                raise errors.Timeout(f"{self.host}: {ops[0].op}: not sent: the guard's time is up")
            limit, margin = min(limit, left), 0.0
        request_id = next(self._ids)
        waiter = _Waiter()
        with self._waiters_lock:
            if self._closed is not None:
                raise errors.AgentLost(f"{self.host}: agent connection closed: {self._closed}")
            self._waiters[request_id] = waiter
        try:
            with self._send_lock:
                self._channel.sendall(encode_request(request_id=request_id, ops=ops, timeout=limit))
            self._count(ops, change=change)
            # The agent enforces the limit itself; the margin covers the round trip.
            if not waiter.event.wait(limit + margin):
                # The agent answers its own time limit with an error; silence past
                # it means the host or the path died: later requests must not wait
                # for it too (the pool starts a new session, which fails fast).
                self._fail(f"no answer within {limit:.0f} s")
                raise errors.Timeout(f"{self.host}: {ops[0].op}: no answer within {limit:.0f} s")
        except OSError as exc:
            self._fail(f"send failed: {exc}")
            raise errors.AgentLost(f"{self.host}: agent connection lost: {exc}") from None
        finally:
            with self._waiters_lock:
                self._waiters.pop(request_id, None)
        if waiter.reply is None:
            raise errors.AgentLost(f"{self.host}: agent connection closed: {self._closed}")
        return raise_for_reply(waiter.reply, host=self.host, ops=ops)

    def _count(self, ops: list[Op], *, change: bool) -> None:
        first = ops[0].args
        if ops[0].op == "reads" and isinstance(first.get("ops"), list) and first["ops"]:
            first = first["ops"][0].get("args") or {}  # a reads op is in its reads' namespace
        ref = first.get("netns")
        stats.round_trip(
            self.host,
            netns=ref if isinstance(ref, str) else None,
            ops=len(ops),
            write=change,
            snapshot=ops[0].op == "snapshot",
        )

    def _read_loop(self) -> None:
        reason = "agent exited"
        try:
            for line in iter(self._stdout.readline, b""):
                self._deliver(line)
        except (OSError, EOFError) as exc:
            reason = f"read failed: {exc}"
        self._fail(reason)

    def _deliver(self, line: bytes) -> None:
        try:
            reply = decode_reply(line)
        except ValueError:
            return  # stray output on the channel is not an answer
        with self._waiters_lock:
            waiter = self._waiters.get(reply.id) if reply.id is not None else None
        if waiter is not None:
            waiter.reply = reply
            waiter.event.set()

    def _fail(self, reason: str) -> None:
        with self._waiters_lock:
            if self._closed is None:
                self._closed = reason
            waiters = list(self._waiters.values())
        for waiter in waiters:
            waiter.event.set()

    def close(self) -> None:
        self._fail("closed by the controller")
        _quietly(self._channel.close)


def _quietly(action: Callable[[], None]) -> None:
    with contextlib.suppress(OSError):
        action()
