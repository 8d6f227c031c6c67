"""Read-backs answered by the change's own batch.

A kind that declares ``reads(spec)``, the read ops its ``read`` starts with, has
them appended to its create's or update's batch as one ``reads`` op
(hostnet.agent.readahead): the read-back then costs no round trip of its own.
``read_or_none`` takes such an answer when it has one for exactly the op and
arguments asked, once; anything else goes to the host as before, so a
declaration that is out of date costs time, never a wrong answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.protocol import Op

_PRIMED = threading.local()  # a provider call runs on one thread from start to end


def with_reads(ops: list[Op], reads: Sequence[Op]) -> list[Op]:
    """``ops`` and then one op that reads ``reads`` (none when there are none)."""
    if not reads:
        return ops
    return [*ops, Op(op="reads", args={"ops": [op.wire() for op in reads]})]


def _key(op: Op) -> str:
    return json.dumps(op.wire(), sort_keys=True, default=str)


@contextmanager
def primed(agent: Agent, reads: Sequence[Op], answers: Sequence[Any]) -> Iterator[None]:
    """While inside, ``read_or_none`` on ``agent`` takes these answers first."""
    previous = getattr(_PRIMED, "table", None)
    # Fewer answers than reads: a batch that sent none (a plan with no steps).
    table = {_key(op): answer for op, answer in zip(reads, answers, strict=False)}
    _PRIMED.table = (agent, table)
    try:
        yield
    finally:
        _PRIMED.table = previous


def _take(agent: Agent, op: Op) -> dict[str, Any] | None:
    table = getattr(_PRIMED, "table", None)
    if table is None or table[0] is not agent:
        return None
    answer: dict[str, Any] | None = table[1].pop(_key(op), None)
    return answer


@contextmanager
def asked_together(agent: Agent, reads: Sequence[Op]) -> Iterator[None]:
    """``reads`` asked in one round trip (one ``reads`` op); inside, ``read_or_none``
    and ``read_call`` take their answers."""
    answers = agent.call("reads", ops=[op.wire() for op in reads])
    with primed(agent, reads, answers):
        yield


def read_call(agent: Agent, op: str, /, **args: Any) -> Any:
    """Run a read op as ``agent.call`` does; a primed answer when there is one."""
    answer = _take(agent, Op(op=op, args=args))
    if answer is not None and answer.get("ok"):
        return answer.get("result")
    return agent.call(op, **args)


def read_or_none(agent: Agent, op: str, /, **args: Any) -> Any:
    """Run a read op; a namespace that is gone reads as a missing object."""
    answer = _take(agent, Op(op=op, args=args))
    if answer is not None:
        if answer.get("ok"):
            return answer.get("result")
        if (answer.get("error") or {}).get("type") == "NotFound":
            return None
        # Any other failure is asked again, so it is raised as the host words it.
    try:
        return agent.call(op, **args)
    except errors.AgentError as exc:
        if exc.kind == "NotFound":
            return None
        raise
