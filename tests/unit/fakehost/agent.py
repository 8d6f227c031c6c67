"""FakeAgent: hostnet.agent_client.Agent's interface over the in-memory host.

A request goes the way a real one does: ops are checked against the agent's op
table (hostnet.agent.ops.OPS: unknown op or argument refuses the whole request,
nothing runs), arguments and results pass through JSON, ops run in order and the
batch stops at the first failure; the answer is a protocol Reply (results of the
ops that ran, error {index, op, type, message, errno}) raised by
hostnet.protocol.raise_for_reply, so callers see the client's own exceptions.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hostnet.agent import readahead
from hostnet.agent.args import Args
from hostnet.agent.errors import AgentError, Failed, Invalid, describe
from hostnet.agent.ops import OPS
from hostnet.protocol import Op, Reply, raise_for_reply

from . import iptables, links, netns, ports, routes, rules, snapshot
from .model import Host

Handler = Callable[[Host, Args], Any]
Predicate = Callable[[Op], bool]


def _ok(_host: Host, _args: Args) -> Any:
    return {"pong": True}


HANDLERS: dict[str, Handler] = {
    "ping": _ok,
    **{
        name: getattr(module, name)
        for module in (links, ports, routes, rules, netns, iptables, snapshot)
        for name in OPS
        if callable(getattr(module, name, None))
    },
}


def _reads(host: Host, args: Args) -> Any:
    return readahead.answers(
        args, table=OPS, run_one=lambda name, sub: HANDLERS[name](host, Args(name, sub))
    )


HANDLERS["reads"] = _reads
# Ops of the real table the fake does not model (host facts, probes, guards).
UNMODELLED = frozenset(OPS) - set(HANDLERS)


@dataclass
class _Fault:
    matches: Predicate
    nth: int
    error: AgentError
    seen: int = 0


@dataclass(frozen=True)
class Sent:
    """One op as the agent received it (after the wire dropped null arguments)."""

    op: str
    args: dict[str, Any]

    @property
    def mutating(self) -> bool:
        return OPS[self.op].mutating


class FakeAgent:
    """Speaks the agent protocol to a Host model; ``log`` holds every op that ran."""

    def __init__(self, host: Host | None = None, *, name: str = "h1") -> None:
        self.host = host if host is not None else Host()
        self.name = name
        self.info: dict[str, Any] = {"agent": "fake", "netlink": {}}
        self.log: list[Sent] = []
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)

    @property
    def alive(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to close: the host lives in memory."""

    def call(self, op: str, /, **args: Any) -> Any:
        return self.batch([Op(op=op, args=args)])[0]

    def batch(self, ops: list[Op], *, timeout: float | None = None) -> list[Any]:
        if not ops:
            return []
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive")
        reply = self._answer(next(self._ids), [json.loads(json.dumps(op.wire())) for op in ops])
        return raise_for_reply(reply, host=self.name, ops=ops)

    def fail_at(
        self, what: str | Predicate, nth: int = 1, *, error: AgentError | None = None
    ) -> None:
        """Make the ``nth`` op matching ``what`` (an op name or a predicate on the
        Op) fail before it changes anything, once; by default as the host's EIO."""
        matches = (lambda op: op.op == what) if isinstance(what, str) else what
        fault = error or Failed(f"injected failure: {os.strerror(errno.EIO)}", errno=errno.EIO)
        self._faults.append(_Fault(matches=matches, nth=nth, error=fault))

    def _answer(self, request_id: int, wire: list[dict[str, Any]]) -> Reply:
        refused = _refusal(wire)
        if refused is not None:
            return Reply(id=request_id, ok=False, results=[], error=refused)
        results: list[Any] = []
        for index, item in enumerate(wire):
            name, args = item["op"], item.get("args") or {}
            try:
                self._inject(Op(op=name, args=args))
                result = HANDLERS[name](self.host, Args(name, args))
            except AgentError as exc:
                error = describe(exc, index=index, op=name)
                return Reply(id=request_id, ok=False, results=results, error=error)
            self.log.append(Sent(op=name, args=args))
            results.append(json.loads(json.dumps(result)))
        return Reply(id=request_id, ok=True, results=results)

    def _inject(self, op: Op) -> None:
        for fault in self._faults:
            if fault.matches(op):
                fault.seen += 1
                if fault.seen == fault.nth:
                    raise fault.error


def _refusal(wire: list[dict[str, Any]]) -> dict[str, Any] | None:
    """main._check_op: the first unknown op or argument refuses the request."""
    for index, item in enumerate(wire):
        name = item.get("op")
        if name not in OPS:
            return describe(Invalid(f"unknown op {name!r}"), index=index, op=name)
        if name in UNMODELLED:
            raise NotImplementedError(f"the fake host does not model {name}")
        extra = sorted(set(item.get("args") or {}) - OPS[name].keys)
        if extra:
            error = Invalid(f"{name}: unknown argument {extra[0]!r}")
            return describe(error, index=index, op=name)
    return None
