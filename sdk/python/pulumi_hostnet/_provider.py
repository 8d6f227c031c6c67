"""The one generic dynamic provider: Pulumi's CRUD calls to ``hostnet.resources.<kind>``.

Kept stateless and importable so dill pickles it by reference: the provider
host imports this module and always runs the installed code. The module path
and class name are part of every stack's state; keep them stable.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from hostnet import errors, guard, hosts, ownership, transport
from hostnet.hosts import connection_from, learn_pin, pin_seen, with_pin
from hostnet.resources import KINDS, Kind, diff
from hostnet.unknown import UNKNOWN

from . import _profiling, _warmup


def _show_engine_log() -> None:
    """The engine's notes (what a delete left to another owner) on the provider
    host's stderr, which the CLI shows; the host has no engine connection for
    pulumi.log."""
    log = logging.getLogger("hostnet")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("hostnet: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


_show_engine_log()


def _in_provider_host() -> bool:
    return sys.argv[0].endswith(os.path.join("pulumi", "dynamic", "__main__.py"))


# The provider host serves the engine's calls on a pool of 4 threads, while the
# engine runs up to --parallel (default 4 per CPU) steps at once. hostnet's calls mostly
# wait on a host (the first one per host waits for the SSH login and the agent's
# start), so with 4 threads the first calls for two hosts hold the pool and the
# third host's first call waits for them: its agent starts only after theirs.
POOL_THREADS = 32


def _widen_the_pool() -> None:
    """In the provider host: let its gRPC server run up to POOL_THREADS calls at
    once. The pool exists before this module is imported, by the first call's
    unpickling on one of the pool's threads, whose target holds a reference to
    it: its limit is raised in place (threads are still added only when every one
    is busy). Anything unexpected leaves the pool as it is."""
    if not _in_provider_host():
        return
    args = getattr(threading.current_thread(), "_args", ())
    ref = args[0] if isinstance(args, tuple) and args else None
    pool = ref() if callable(ref) else None
    if isinstance(pool, ThreadPoolExecutor) and getattr(pool, "_max_workers", None) == 4:
        pool._max_workers = POOL_THREADS
        _start_every_thread(pool)


def _start_every_thread(pool: ThreadPoolExecutor) -> None:
    """Start the pool's threads now, all of them.

    The pool adds a thread on a submit only when it holds no credit for an idle
    one, and every finished call leaves such a credit, also when the next call
    was already waiting for a thread. The engine's first calls queue up behind
    the 4 threads while this import runs, so from then on the credits keep pace
    with the calls and the pool never grows: measured, 5 threads served 32 calls
    in flight, the rest waiting about 200 ms each. Idle threads cost nothing.
    """
    with pool._shutdown_lock:  # as submit() holds it
        while len(pool._threads) < pool._max_workers:
            while pool._idle_semaphore.acquire(timeout=0):
                pass
            before = len(pool._threads)
            pool._adjust_thread_count()
            if len(pool._threads) == before:
                return


_widen_the_pool()


def _exit_with_the_engine() -> None:
    """In the provider host: exit when the engine is gone.

    The engine holds the write end of its plugins' stdin and never writes to it,
    so end of file there means the engine died (a killed `pulumi`). Without this
    the host process, its SSH sessions and a root agent on every host would
    outlive the run; closing the sessions ends the agents.
    """
    if not _in_provider_host():
        return
    try:
        if not stat.S_ISFIFO(os.fstat(0).st_mode):
            return
    except OSError:
        return

    def watch() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        transport.close_all()
        _profiling.write()
        os._exit(1)

    threading.Thread(target=watch, name="hostnet-engine-watch", daemon=True).start()


_exit_with_the_engine()
# A refresh reads every resource of a host: one snapshot per namespace serves them
# (HOSTNET_SNAPSHOT_READS=0: every read is its own round trip, as for comparison).
transport.serve_reads_from_snapshots(os.environ.get("HOSTNET_SNAPSHOT_READS") != "0")


def _from_wire(value: Any) -> Any:
    """Pulumi's values to plain ones: whole floats to int, Unknown to UNKNOWN."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _from_wire(v) for k, v in value.items() if k != "__provider"}
    if isinstance(value, list | tuple):
        return [_from_wire(v) for v in value]
    return value


def _to_wire(value: Any) -> Any:
    if value is UNKNOWN:
        return Unknown()  # type: ignore[no-untyped-call]  # pulumi leaves it unannotated
    if isinstance(value, Mapping):
        return {k: _to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in value]
    return value


class HostnetFailure(Exception):
    """What the CLI shows for a failed operation: hostnet's paragraph, as the last
    line of the traceback the provider host prints."""


# The traceback's last line names the class by module: "hostnet.HostnetFailure: ...".
HostnetFailure.__module__ = "hostnet"


def resource_name(kind: str, props: Mapping[str, Any]) -> str:
    """The resource's name in messages: its Pulumi name when the SDK passes it
    (``owner.resource``), else its id on the host."""
    owner = props.get("owner")
    if isinstance(owner, Mapping) and owner.get("resource"):
        return str(owner["resource"])
    if props.get("resource_id"):
        return str(props["resource_id"])
    try:
        return str(KINDS[kind].make_id(props))
    except (KeyError, TypeError, ValueError):
        return "?"


def failure_text(kind: str, props: Mapping[str, Any], exc: errors.HostnetError) -> str:
    host = props.get("host")
    return errors.describe(
        exc,
        kind=KINDS[kind].class_name if kind in KINDS else kind,
        resource=resource_name(kind, props),
        host=host if isinstance(host, Mapping) else {},
        defaults=hosts.DEFAULTS,
    )


def _reported(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every failure into hostnet's paragraph, raised bare: the provider host
    prints the traceback of what it catches, and the frames say nothing a user
    can act on. The last positional argument is the resource's props."""

    @functools.wraps(method)
    def run(self: HostnetProvider, *args: Any) -> Any:
        try:
            return method(self, *args)
        except errors.HostnetError as exc:
            failure: errors.HostnetError = exc
        except Exception as exc:
            failure = errors.Internal(f"{type(exc).__name__}: {exc}")
        raise HostnetFailure(failure_text(self.kind, _from_wire(args[-1]), failure)) from None

    return run


class HostnetProvider(ResourceProvider):
    """Dispatches to the kind named at construction; holds nothing else.

    ``kind`` is pickled into each resource's state, so a provider read back from
    an older stack may carry a name the kind had before; the registry finds the
    kind by it, and everything else goes by the kind's own name."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def _module(self) -> Kind:
        return KINDS[self.kind]

    def _checked(self, props: Mapping[str, Any]) -> dict[str, Any]:
        # create/update get inputs back over the wire, numbers as floats again.
        inputs, failures = self._module().check(_from_wire(props))
        if failures:
            first = failures[0]
            raise errors.InvalidInput(first.field, first.reason)
        return dict(inputs)

    @_profiling.profiled
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = self._module().check(_from_wire(news))
        if not failures:
            _warmup.learned(inputs)
        return CheckResult(_to_wire(inputs), [CheckFailure(f.field, f.reason) for f in failures])

    @_profiling.profiled
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        learn_pin(_from_wire(olds))
        result = diff(policy=self._module().policy, olds=_from_wire(olds), news=_from_wire(news))
        return DiffResult(
            changes=result.changes,
            replaces=result.replaces,
            delete_before_replace=result.delete_before_replace,
        )

    @_profiling.profiled
    @_reported
    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = ownership.with_token(self._checked(props), token=ownership.new_token())
        inputs = with_pin(inputs)
        _warmup.talking(inputs)
        conn = connection_from(inputs)
        module = self._module()
        outs = guard.run(
            kind=module.name,
            conn=conn,
            key=module.make_id(inputs),
            inputs=inputs,
            olds=None,
            apply=lambda agent: module.create(agent, inputs),
        )
        return CreateResult(outs["resource_id"], pin_seen(ownership.settled(outs), conn))

    @_profiling.profiled
    @_reported
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outputs = _from_wire(props)
        if "host" not in outputs:
            return ReadResult("", {})
        learn_pin(outputs)
        _warmup.talking(outputs)
        observed = self._module().read(transport.agent_for(connection_from(outputs)), outputs)
        if observed is None:
            return ReadResult("", {})
        module = self._module()
        keys = module.policy.inputs | set(hosts.SECRET_INPUTS) | {"owner", "adopt"}
        inputs = ownership.as_given({k: v for k, v in observed.items() if k in keys})
        return ReadResult(id_, observed, inputs)

    @_profiling.profiled
    @_reported
    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        olds = _from_wire(olds)
        token = ownership.token_of(olds)
        # State from before instance ownership: a token now, and the id's marks
        # taken over by it.
        inputs = ownership.with_token(
            self._checked(news),
            token=token or ownership.new_token(),
            legacy=None if token else olds.get("resource_id"),
        )
        learn_pin(olds)
        inputs = with_pin(inputs, olds)
        _warmup.talking(inputs)
        conn = connection_from(inputs)
        module = self._module()
        outs = guard.run(
            kind=module.name,
            conn=conn,
            key=olds.get("resource_id") or module.make_id(inputs),
            inputs=inputs,
            olds=olds,
            apply=lambda agent: module.update(agent, olds, inputs),
        )
        return UpdateResult(pin_seen(ownership.settled(outs), conn))

    @_profiling.profiled
    @_reported
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        outputs = _from_wire(props)
        learn_pin(outputs)
        _warmup.talking(outputs)
        self._module().delete(transport.agent_for(connection_from(outputs)), outputs)
