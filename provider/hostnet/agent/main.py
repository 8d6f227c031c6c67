"""The serve loop: JSON lines in on stdin, JSON lines out on stdout.

Read-only requests run on a pool of 4 threads; a request with any mutating op
runs on the one writer thread (writer.py), in arrival order, holding the host
lock for its whole run: a lock inside this process plus flock() on <run
dir>/lock, so two controllers never interleave their changes on a host.
Responses are written whole, one per line, in completion order.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from .args import Args
from .context import Context
from .errors import AgentError, Busy, Invalid, describe, from_exception
from .guard import pending
from .ops import OPS, OpSpec, host_info
from .rundir import ensure_dir, run_dir
from .writer import Writer

WORKERS = 4
DEFAULT_TIMEOUT = 60.0


class HostLock:
    """Exclusive right to change the host, across threads and processes."""

    def __init__(self) -> None:
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def acquire(self, deadline: float) -> None:
        if not self._thread_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise Busy("another request of this agent holds the host lock")
        try:
            self._flock(deadline)
        except BaseException:
            self._thread_lock.release()
            raise

    def _flock(self, deadline: float) -> None:
        if self._fd is None:
            ensure_dir(run_dir())
            self._fd = os.open(os.path.join(run_dir(), "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        pause = 0.002
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() + pause > deadline:
                    raise Busy(f"another hostnet agent holds {run_dir()}/lock") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Server:
    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._out_lock = threading.Lock()
        self._broken = False
        self.lock = HostLock()

    def write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"
        with self._out_lock:
            if self._broken:
                return
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, ValueError):
                self._broken = True

    def parse_request(
        self, line: bytes
    ) -> tuple[int, list[tuple[str, OpSpec, dict[str, Any]]], float]:
        """Parse a request; Invalid names the first bad op (nothing runs then)."""
        try:
            request = json.loads(line)
        except ValueError as exc:
            raise Invalid(f"not JSON: {exc}") from None
        if not isinstance(request, dict):
            raise Invalid("a request is a JSON object")
        rid, ops, timeout = request.get("id"), request.get("ops"), request.get("timeout")
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise Invalid("request id must be an integer")
        if not isinstance(ops, list) or not ops:
            raise _AtIndex(rid, None, None, Invalid("ops must be a non-empty list"))
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise _AtIndex(rid, None, None, Invalid("timeout must be a positive number"))
        return rid, [_check_op(rid, i, op) for i, op in enumerate(ops)], float(timeout)

    def run(
        self,
        rid: int,
        batch: list[tuple[str, OpSpec, dict[str, Any]]],
        timeout: float,
        *,
        start: float,
    ) -> None:
        """Run one request; its time counts from its arrival (``start``), so a
        request that waited behind others on the writer still ends by its limit."""
        deadline = start + timeout
        results: list[Any] = []
        error: dict[str, Any] | None = None
        ctx = Context(deadline=deadline)
        locked = False
        index, name = 0, batch[0][0]
        try:
            if any(spec.mutating for _, spec, _ in batch):
                self.lock.acquire(deadline)
                locked = True
            for position, (name, spec, args) in enumerate(batch):
                index = position
                ctx.remaining()
                results.append(spec.fn(ctx, Args(name, args)))
        except AgentError as exc:
            error = describe(exc, index=index, op=name)
        except Exception as exc:
            if not isinstance(exc, OSError):
                traceback.print_exc(file=sys.stderr)
            error = describe(from_exception(exc, what=name), index=index, op=name)
        finally:
            ctx.close(ok=error is None)
            if locked:
                self.lock.release()
        self.answer(rid, results, error, start=start)

    def answer(
        self, rid: int, results: list[Any], error: dict[str, Any] | None, *, start: float
    ) -> None:
        reply: dict[str, Any] = {"id": rid, "ok": error is None, "results": results}
        if error is None:
            reply["t"] = round(time.monotonic() - start, 6)
        else:
            reply["error"] = error
        self.write(reply)


class _AtIndex(Exception):
    def __init__(self, rid: int | None, index: int | None, op: str | None, error: AgentError):
        super().__init__(error.message)
        self.rid, self.index, self.op, self.error = rid, index, op, error


def _check_op(rid: int, index: int, op: Any) -> tuple[str, OpSpec, dict[str, Any]]:
    name = op.get("op") if isinstance(op, dict) else None
    if not isinstance(name, str) or name not in OPS:
        raise _AtIndex(rid, index, name if isinstance(name, str) else None,
                       Invalid(f"unknown op {name!r}"))  # fmt: skip
    args = op.get("args")
    args = {} if args is None else args
    if not isinstance(args, dict):
        raise _AtIndex(rid, index, name, Invalid(f"{name}: args must be an object"))
    spec = OPS[name]
    extra = sorted(set(args) - spec.keys)
    if extra:
        raise _AtIndex(rid, index, name, Invalid(f"{name}: unknown argument {extra[0]!r}"))
    return name, spec, args


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """Say ready, then answer requests until EOF on ``inp``."""
    server = Server(out)
    server.write({"ready": True, **host_info(), "guards": _guards()})
    writer = Writer(server)
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hostnet") as pool:
        for line in iter(inp.readline, b""):
            if not line.strip():
                continue
            try:
                rid, batch, timeout = server.parse_request(line)
            except _AtIndex as bad:
                server.write(_refusal(bad.rid, bad.index, bad.op, bad.error))
                continue
            except AgentError as exc:
                server.write(_refusal(None, None, None, exc))
                continue
            start = time.monotonic()
            if any(spec.mutating for _, spec, _ in batch):
                writer.submit((rid, batch, timeout, start))
            else:
                pool.submit(server.run, rid, batch, timeout, start=start)
        writer.close()
    server.lock.close()


def _guards() -> list[dict[str, Any]]:
    """Guards a killed controller left: resolved here, listed in the ready line."""
    try:
        return pending()
    except OSError as exc:
        print(f"hostnet agent: guards not checked: {exc}", file=sys.stderr)
        return []


def _refusal(rid: int | None, index: int | None, op: str | None, exc: AgentError) -> dict[str, Any]:
    return {"id": rid, "ok": False, "results": [], "error": describe(exc, index=index, op=op)}


def main() -> None:
    serve(sys.stdin.buffer, sys.stdout.buffer)
