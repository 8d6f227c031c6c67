"""What every resource kind shares: field policy, the generic diff, plans with undo.

A kind module (``bridge.py``, ``veth.py``, ...) declares ``NAME``, ``POLICY``,
its check, observe, plan, read and retire on plain dicts, and ends with
``KIND = register(Kind(...))``. Inputs reach it already normalised by its
``check``; outputs are the inputs plus what the host computed (ifindex, mac),
because diff, read and delete only ever see outputs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from hostnet import errors, ownership
from hostnet.agent_client import Agent
from hostnet.protocol import Op
from hostnet.resources._readback import primed, with_reads
from hostnet.unknown import is_unknown
from hostnet.validate import Failure

log = logging.getLogger("hostnet")


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

    @property
    def inputs(self) -> frozenset[str]:
        """Every input of the kind; check refuses any other (a typo) by name."""
        return self.replace | self.update


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
    """A forward op and, if it makes or changes something, the ops that take it back."""

    op: Op
    undo: tuple[Op, ...] = ()

    def __str__(self) -> str:
        text = _op_text(self.op)
        if not self.undo:
            return text
        return f"{text}  (undo: {'; '.join(_op_text(op) for op in self.undo)})"


def _op_text(op: Op) -> str:
    args = " ".join(f"{k}={v!r}" for k, v in sorted(op.wire()["args"].items()))
    return f"{op.op} {args}".rstrip()


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What one apply sends to the host: data, printed one step per line."""

    steps: tuple[Step, ...] = ()

    @property
    def ops(self) -> list[Op]:
        return [step.op for step in self.steps]

    @property
    def makes(self) -> bool:
        """Whether the plan makes something a failed create must take back."""
        return any(step.undo for step in self.steps)

    def __str__(self) -> str:
        return "\n".join(str(step) for step in self.steps) or "(nothing to do)"


def apply(agent: Agent, plan: Plan, *, reads: Sequence[Op] = ()) -> tuple[list[Any], list[Any]]:
    """Send the plan as one batch: the agent holds the host lock across it and
    stops at the first failing op, whose index tells what ran and must be undone.
    ``reads`` ride at the end of a batch that changes something (_readback.py);
    returns the steps' results and the reads' answers.

    A Python dynamic provider cannot report a half-made resource, so a plan that
    fails leaves nothing it made behind.
    """
    if not plan.steps:
        return [], []
    ops = with_reads(plan.ops, reads)
    try:
        results = agent.batch(ops)
    except errors.AgentError as exc:
        ran = exc.failed_at if exc.failed_at is not None else len(exc.results)
        undo(agent, plan.steps[:ran])
        raise
    steps = len(plan.steps)
    return results[:steps], (results[steps] if len(results) > steps else [])


def undo(agent: Agent, steps: Iterable[Step]) -> None:
    """Take back steps in reverse; keep going past a failing undo, because the
    error that caused the undo is the one to report."""
    for step in reversed(list(steps)):
        if step.undo:
            with contextlib.suppress(errors.HostnetError):
                agent.batch(list(step.undo))


Spec = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class Kind:
    """One resource kind: ``check -> observe -> plan -> apply -> verify``.

    ``spec`` is the checked inputs plus ``resource_id`` (the id, and so the mark,
    the object is made with; an update keeps the one it was created with).
    ``observe`` reads the host; ``plan(spec, observed, olds)`` is pure and returns
    the steps; ``read`` is the read-back and the refresh; ``retire`` gives the ops
    that delete the object. ``settle`` turns the plan's results into the outputs
    read back (the value a sysctl had before); ``verify`` compares the read-back
    with the spec (by default on every update field).

    ``name`` is the kind's one name: its module, the SDK class (``netns_router``
    is ``NetnsRouter``) and the second segment of the ids it makes. ``aliases``
    are names it had before, which the state of older stacks still carries.
    """

    name: str
    policy: FieldPolicy
    what: str
    check: Callable[[Mapping[str, Any]], tuple[dict[str, Any], list[Failure]]]
    make_id: Callable[[Mapping[str, Any]], str]
    observe: Callable[[Agent, Spec], Any]
    plan: Callable[[Spec, Any, Spec], Plan]
    read: Callable[[Agent, Mapping[str, Any]], dict[str, Any] | None]
    retire: Callable[[Spec], list[Op]]
    settle: Callable[[Spec, list[Any], Spec], dict[str, Any]] | None = None
    reads: Callable[[Spec], list[Op]] | None = None
    verify: Callable[[dict[str, Any] | None, Spec], dict[str, Any]] | None = None
    aliases: tuple[str, ...] = ()

    @classmethod
    def of(cls, module: ModuleType, **parts: Any) -> Kind:
        """The kind a module declares by its names: ``NAME``, ``POLICY``, ``WHAT``,
        ``ALIASES``, and ``check``, ``make_id_for``, ``observe``, ``plan``, ``read``,
        ``retire`` (and ``settle``, ``verify`` where it has them). ``parts`` gives
        functions the module does not define itself (a shared factory's). mypy
        checks every module against ``KindModule`` in ``hostnet.resources``."""
        found = {
            "name": module.NAME,
            "policy": module.POLICY,
            "what": module.WHAT,
            "aliases": getattr(module, "ALIASES", ()),
            "make_id": module.make_id_for,
            **{
                key: getattr(module, key)
                for key in (
                    "check",
                    "observe",
                    "plan",
                    "read",
                    "retire",
                    "settle",
                    "reads",
                    "verify",
                )
                if hasattr(module, key)
            },
        }
        return cls(**{**found, **parts})

    @property
    def class_name(self) -> str:
        """The SDK class of the kind: its name in CamelCase."""
        return "".join(word.capitalize() for word in self.name.split("_"))

    def spec(self, inputs: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> Spec:
        rid = (olds or {}).get("resource_id") or inputs.get("resource_id") or self.make_id(inputs)
        return {**inputs, "resource_id": rid}

    def create(self, agent: Agent, inputs: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.spec(inputs)
        plan = self.plan(spec, self.observe(agent, spec), {})
        reads = self._read_back(spec)
        results, answers = apply(agent, plan, reads=reads)
        try:
            return self._verified(agent, spec, results, {}, primed_by=(reads, answers))
        except Exception:
            undo(agent, plan.steps)  # Pulumi records nothing of a failed create
            raise

    def update(
        self, agent: Agent, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        spec = self.spec(news, olds)
        plan = self.plan(spec, self.observe(agent, spec), olds)
        reads = self._read_back(spec)
        results, answers = apply(agent, plan, reads=reads)
        return self._verified(agent, spec, results, olds, primed_by=(reads, answers))

    def delete(self, agent: Agent, outputs: Mapping[str, Any]) -> None:
        spec = self.spec(outputs)
        delete_quietly(agent, self.retire(spec), rid=spec["resource_id"])

    def _read_back(self, spec: Spec) -> list[Op]:
        """The reads ``read`` starts with, sent in the change's own batch."""
        return self.reads(spec) if self.reads else []

    def _verified(
        self,
        agent: Agent,
        spec: Spec,
        results: list[Any],
        olds: Spec,
        *,
        primed_by: tuple[Sequence[Op], Sequence[Any]],
    ) -> dict[str, Any]:
        outputs = self.settle(spec, results, olds) if self.settle else dict(spec)
        with primed(agent, *primed_by):
            observed = self.read(agent, outputs)
        if self.verify is not None:
            return self.verify(observed, spec)
        return verified(
            observed,
            rid=spec["resource_id"],
            inputs=spec,
            fields=self.policy.update,
            what=self.what,
        )


class Registry(Mapping[str, Kind]):
    """The kinds by name, which the provider and the SDK dispatch on.

    A former name finds its kind too: a stack's state keeps the name its
    provider was made with (pickled in ``__provider``) until the resource next
    changes. Iterating gives each kind once, by its name.
    """

    def __init__(self) -> None:
        self._kinds: dict[str, Kind] = {}
        self._names: dict[str, str] = {}

    def add(self, kind: Kind) -> Kind:
        for name in (kind.name, *kind.aliases):
            if name in self._names:
                raise ValueError(f"resource kind name {name!r} registered twice")
            self._names[name] = kind.name
        self._kinds[kind.name] = kind
        return kind

    def __getitem__(self, name: str) -> Kind:
        return self._kinds[self._names[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)


REGISTRY = Registry()


def register(kind: Kind) -> Kind:
    """Add a kind to the registry; a name given twice is a programming error
    caught at import."""
    return REGISTRY.add(kind)


def as_declared(found: Iterable[str] | None, declared: Iterable[str] | None) -> list[str]:
    """What the host has, in the declared order when it is the declared set: the
    kernel lists addresses in an order of its own (IPv6 newest first, a secondary
    re-added after its primary last), which is no difference."""
    have, want = list(found or []), list(declared or [])
    return want if sorted(have) == sorted(want) else have


def delete_quietly(agent: Agent, ops: list[Op], *, rid: str) -> None:
    """Run delete ops; what is already gone (object or namespace) is success, and
    what another resource owns now is left, with a line in the log. One batch
    (one round trip, the host lock held across it); after an op that finds its
    object or namespace gone, the rest go as the next batch."""
    results: list[Any] = []
    rest = list(ops)
    while rest:
        try:
            results += agent.batch(rest)
            break
        except errors.AgentError as exc:
            if exc.kind != "NotFound" or exc.failed_at is None:
                raise
            results += exc.results
            rest = rest[exc.failed_at + 1 :]
    for note in ownership.kept_notes(results, rid=rid):
        log.warning(note)


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
