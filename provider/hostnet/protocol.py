"""The controller's half of the agent protocol: JSON lines with request ids.

A request is one line ``{"id": N, "ops": [{"op": ..., "args": {...}}, ...],
"timeout": S}``; the agent answers each with one line carrying the same id,
``ok`` and the results of the ops that ran. Ops in a batch run in order and the
batch stops at the first failure, whose index the answer names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hostnet.errors import AgentError, Busy, Conflict, NotFound, NotOwned, OpTimeout

_ERROR_CLASSES: dict[str, type[AgentError]] = {
    "NotOwned": NotOwned,
    "Exists": Conflict,
    "Timeout": OpTimeout,
    "Busy": Busy,
    "NotFound": NotFound,
}


@dataclass(frozen=True, kw_only=True)
class Op:
    """One agent operation: its name and typed keyword arguments."""

    op: str
    args: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        return {"op": self.op, "args": {k: v for k, v in self.args.items() if v is not None}}


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One decoded answer from the agent."""

    id: int | None
    ok: bool
    results: list[Any]
    error: dict[str, Any] | None = None
    seconds: float = 0.0


def encode_request(*, request_id: int, ops: list[Op], timeout: float) -> bytes:
    line = json.dumps(
        {"id": request_id, "ops": [op.wire() for op in ops], "timeout": timeout},
        separators=(",", ":"),
    )
    return line.encode() + b"\n"


def decode_reply(line: bytes | str) -> Reply:
    """Parse one answer line; a line that is not an answer raises ValueError."""
    data = json.loads(line)
    if not isinstance(data, dict) or "ok" not in data:
        raise ValueError(f"not an agent reply: {str(line)[:200]!r}")
    return Reply(
        id=data.get("id"),
        ok=bool(data["ok"]),
        results=list(data.get("results") or []),
        error=data.get("error"),
        seconds=float(data.get("t") or 0.0),
    )


def raise_for_reply(reply: Reply, *, host: str, ops: list[Op]) -> list[Any]:
    """Return the results of a successful reply, or raise the matching AgentError."""
    if reply.ok:
        return reply.results
    error = reply.error or {}
    index = error.get("index")
    op_name = error.get("op") or (ops[index].op if isinstance(index, int) else "request")
    kind = str(error.get("type") or "Failed")
    cls = _ERROR_CLASSES.get(kind, AgentError)
    raise cls(
        host=host,
        op=str(op_name),
        kind=kind,
        message=str(error.get("message") or "no message"),
        index=index if isinstance(index, int) and len(ops) > 1 else None,
        errno=error.get("errno"),
        failed_at=index if isinstance(index, int) else None,
        results=reply.results,
    )
