"""What every resource kind shares: field policy, the generic diff, plans with undo.

A kind module (``bridge.py``, ``veth.py``, ...) declares ``KIND``, ``POLICY`` and
the six lifecycle functions on plain dicts. Inputs reach it already normalised by
its ``check``; outputs are the inputs plus what the host computed (ifindex, mac),
because diff, read and delete only ever see outputs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hostnet import errors, ownership
from hostnet.agent_client import Agent
from hostnet.protocol import Op

log = logging.getLogger("hostnet")
# Set while a create runs: whether it made the object (a step with an undo ran)
# rather than taking over one that was there, which a failed create must leave.
_made: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar("made", default=None)


class _Unknown:
    """A value Pulumi does not know yet (preview); the adapter maps its own to this."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def is_unknown(value: object) -> bool:
    """True when the value, or anything inside it, is not known yet."""
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


@dataclass(frozen=True, kw_only=True)
class Failure:
    """One rejected input: the field (dotted path) and why."""

    field: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class FieldPolicy:
    """Which inputs force a replacement and which update in place.

    Inputs in neither set (credentials, the owner) count as a change that needs no
    host work. A replacement makes the new object before deleting the old one, and
    when both are the same object on the host (only the host's name changed, or
    ``pulumi up --replace``) the new one takes it over, so it never goes away.
    ``recreate`` lists the replace fields whose change makes an object that cannot
    exist beside the old one (a veth whose peer moves namespace): those delete the
    old one first.
    """

    replace: frozenset[str]
    update: frozenset[str]
    recreate: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Diff:
    changes: bool
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    changed: list[str] = field(default_factory=list)


def diff(*, policy: FieldPolicy, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
    """Compare old outputs with new inputs on the input keys only."""
    keys = (policy.replace | policy.update | set(news)) - {"__provider"}
    changed = sorted(
        k for k in keys if k in news and (is_unknown(news[k]) or not _same(k, olds.get(k), news[k]))
    )
    changed += sorted(
        k for k in keys if k not in news and k in olds and olds[k] not in (None, [], {})
    )
    replaces = [
        k for k in changed if k in policy.replace and _replaces(k, olds.get(k), news.get(k))
    ]
    return Diff(
        changes=bool(changed),
        replaces=replaces,
        delete_before_replace=any(k in policy.recreate for k in replaces),
        changed=changed,
    )


def _same(key: str, old: Any, new: Any) -> bool:
    if key == "host" and isinstance(old, Mapping) and isinstance(new, Mapping):
        if new.get("trust_on_first_use") and not new.get("host_key"):
            # The key pinned on first use is state, not a change the program made.
            old = {k: v for k, v in old.items() if k != "host_key"}
        return bool(old == new)
    if key == ownership.OWNER and isinstance(old, Mapping) and isinstance(new, Mapping):
        # The token is made by create; a stored owner without one is migrated.
        return ownership.token_of({key: old}) is not None and all(
            old.get(k) == new.get(k) for k in ("stack", "resource")
        )
    return bool(old == new)


def _replaces(key: str, old: Any, new: Any) -> bool:
    """A host is the same machine while its name and address stay: another
    address is another machine, so its objects are made there and removed here;
    a new port, user or key is an update."""
    if key == "host" and isinstance(old, Mapping) and isinstance(new, Mapping):
        return any(is_unknown(new.get(k)) or old.get(k) != new.get(k) for k in ("name", "address"))
    return True


@dataclass(frozen=True, kw_only=True)
class Step:
    """A forward op and, if it changed something, the ops that take it back."""

    op: Op
    undo: Callable[[Any], list[Op]] | None = None


def run_plan(agent: Agent, steps: Iterable[Step]) -> list[Any]:
    """Run steps one by one; on failure undo the done ones in reverse, then raise.

    A Python dynamic provider cannot report a half-made resource, so a create that
    fails must leave nothing behind.
    """
    done: list[tuple[Step, Any]] = []
    try:
        for step in steps:
            done.append((step, agent.call(step.op.op, **step.op.args)))
            if step.undo is not None:
                note_made()
    except Exception:
        for step, result in reversed(done):
            if step.undo is None:
                continue
            try:
                agent.batch(step.undo(result))
            except errors.HostnetError:
                continue  # keep undoing the rest; the original error matters more
        raise
    return [result for _, result in done]


class Kind(Protocol):
    """The shape of a resource kind module."""

    KIND: str
    POLICY: FieldPolicy

    def check(self, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]: ...
    def make_id(self, inputs: Mapping[str, Any]) -> str: ...
    def create(self, agent: Agent, inputs: Mapping[str, Any]) -> dict[str, Any]: ...
    def read(self, agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None: ...
    def update(
        self, agent: Agent, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]: ...
    def delete(self, agent: Agent, outputs: Mapping[str, Any]) -> None: ...


def note_made() -> None:
    """Say that the create running in this thread made its object."""
    made = _made.get()
    if made is not None:
        made.append(True)


def read_or_none(agent: Agent, op: str, /, **args: Any) -> Any:
    """Run a read op; a namespace that is gone reads as a missing object."""
    try:
        return agent.call(op, **args)
    except errors.AgentError as exc:
        if exc.kind == "NotFound":
            return None
        raise


def delete_quietly(agent: Agent, ops: list[Op], *, rid: str) -> None:
    """Run delete ops; what is already gone (object or namespace) is success, and
    what another resource owns now is left, with a line in the log."""
    results = []
    for op in ops:
        try:
            results.append(agent.call(op.op, **op.args))
        except errors.AgentError as exc:
            if exc.kind != "NotFound":
                raise
    for note in ownership.kept_notes(results, rid=rid):
        log.warning(note)


def undo_with(ops: list[Op]) -> Callable[[Any], list[Op]]:
    """An undo that runs fixed ops whatever the forward op returned."""
    return lambda _result: ops


def create_or_undo(make: Callable[[], dict[str, Any]], undo: Callable[[], None]) -> dict[str, Any]:
    """Run a create; if it fails after making its object (a failed read-back
    included), remove it. Pulumi records nothing of a failed create, so anything
    left would be an orphan on the host. An object that was there and taken over
    (from a renamed or replaced resource) stays: the resource it came from, or the
    next try of this create, still needs it."""
    made: list[bool] = []
    reset = _made.set(made)
    try:
        return make()
    except Exception:
        if made:
            with contextlib.suppress(errors.HostnetError):
                undo()
        raise
    finally:
        _made.reset(reset)


def verified(
    observed: dict[str, Any] | None,
    *,
    rid: str,
    inputs: Mapping[str, Any],
    fields: Iterable[str],
    what: str,
) -> dict[str, Any]:
    """The read-back after an apply, or VerifyFailed naming what the host shows differently."""
    if observed is None:
        raise errors.VerifyFailed(f"{rid}: {what} missing right after it was made")
    drift = [k for k in sorted(fields) if k in inputs and observed.get(k) != inputs[k]]
    if drift:
        raise errors.VerifyFailed(f"{rid}: host differs after apply in {', '.join(drift)}")
    return observed


Apply = Callable[[Agent, str, Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
Create = Callable[[Agent, Mapping[str, Any]], dict[str, Any]]
Update = Callable[[Agent, Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


def create_and_update(
    *,
    make_id_for: Callable[[Mapping[str, Any]], str],
    apply: Apply,
    delete: Callable[[Agent, Mapping[str, Any]], None],
) -> tuple[Create, Update]:
    """A kind's create and update from one ``apply(agent, rid, inputs, olds)`` that
    brings the host to ``inputs`` and returns the verified outputs. Create undoes
    itself on failure; update keeps the id (and so the mark) the object was made with."""

    def create(agent: Agent, inputs: Mapping[str, Any]) -> dict[str, Any]:
        rid = make_id_for(inputs)
        return create_or_undo(
            lambda: apply(agent, rid, inputs, {}),
            lambda: delete(agent, {**inputs, "resource_id": rid}),
        )

    def update(agent: Agent, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        return apply(agent, olds.get("resource_id") or make_id_for(news), news, olds)

    return create, update
