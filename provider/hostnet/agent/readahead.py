"""The ``reads`` op: read ops answered inside a change's own request.

A create or update reads its object back to verify it. Sent as a separate
request, that read costs a round trip and, in another namespace, a new netlink
socket; appended to the change's batch as one ``reads`` op, it costs neither. A
read that fails (the object or its namespace is gone) is an answer like any
other, not a failure of the batch: the caller decides what a missing object
means, exactly as if it had asked on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .args import Args
from .errors import AgentError, Invalid, describe, from_exception

if TYPE_CHECKING:  # hosts run Python 3.6: no typing.Protocol, no subscripted abc
    from collections.abc import Callable, Mapping

    from .ops import OpSpec


def answers(
    args: Args,
    *,
    table: Mapping[str, OpSpec],
    run_one: Callable[[str, dict[str, Any]], Any],
) -> list[dict[str, Any]]:
    """Each of ``ops`` (read ops of ``table``) run in turn: ``{"ok": true,
    "result": ...}`` or ``{"ok": false, "error": {...}}`` as the op's own request
    would have said it (index 0). Checked whole before any runs."""
    items = args.raw("ops")
    if not isinstance(items, list) or not items:
        raise Invalid("reads: argument 'ops' must be a non-empty list")
    checked = [_checked(position, item, table) for position, item in enumerate(items)]
    found: list[dict[str, Any]] = []
    for name, sub in checked:
        try:
            found.append({"ok": True, "result": run_one(name, sub)})
        except AgentError as exc:
            found.append({"ok": False, "error": describe(exc, index=0, op=name)})
        except Exception as exc:  # as the request itself would report it
            error = from_exception(exc, what=name)
            found.append({"ok": False, "error": describe(error, index=0, op=name)})
    return found


def _checked(position: int, item: Any, table: Mapping[str, OpSpec]) -> tuple[str, dict[str, Any]]:
    name = item.get("op") if isinstance(item, dict) else None
    spec = table.get(name) if isinstance(name, str) else None
    if spec is None or spec.mutating or name == "reads":
        raise Invalid(f"reads: ops[{position}] ({name!r}) is not a read op")
    sub = item.get("args") or {}
    if not isinstance(sub, dict):
        raise Invalid(f"reads: ops[{position}]: args must be an object")
    extra = sorted(set(sub) - spec.keys)
    if extra:
        raise Invalid(f"reads: ops[{position}]: {name}: unknown argument {extra[0]!r}")
    return str(name), sub
