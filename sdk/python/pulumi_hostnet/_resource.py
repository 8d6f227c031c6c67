"""What every hostnet resource class does before Pulumi sees it.

Each resource gets a hidden input ``owner`` (this stack and the resource's name)
from which the provider's create makes the mark of the instance that owns the
objects on the host (see hostnet.ownership), and ``adopt`` when the program asks
to take over what is already there. Two resources of one program that would own
the same object are refused here, before any host is touched: on the host the
second would take the first one's object over.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import pickle
import socket
import threading
from collections.abc import Iterable, Mapping
from inspect import isawaitable
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic

from hostnet import mgmt
from hostnet.resources import KINDS
from hostnet.unknown import holds
from pulumi_hostnet._props import resource_props
from pulumi_hostnet._provider import HostnetProvider

_declared: dict[str, str] = {}
_declared_lock = threading.Lock()

# pulumi.dynamic's serialize_provider (SDK 3.272) wraps pickle._Pickler's
# _batch_setitems in a sorting wrapper at every resource and never puts it back:
# after N dynamic resources in one program every dict pickles through N nested
# wrappers, and at about 960 the program dies of RecursionError. Each hostnet
# resource puts the original back before Pulumi serializes its provider.
_BATCH_SETITEMS = pickle._Pickler.__dict__["_batch_setitems"]

IMPORT_REFUSED = (
    "{name}: hostnet resources cannot be imported (Pulumi's dynamic providers have no "
    "import step). Declare the resource with the object's settings and adopt=True, e.g. "
    'hn.Bridge("br0", hn.BridgeArgs(host=h1, name="br0"), adopt=True): `pulumi up` then '
    "takes the object over, and `pulumi destroy` deletes it."
)


class HostnetResource(pulumi.dynamic.Resource):
    """A dynamic resource served by hostnet's provider for one kind.

    A subclass names its kind by the engine's constant (``kind_name =
    bridge.NAME``); its class name is that name in CamelCase. Not ``kind``:
    Pulumi sets every output as an attribute, and NatRule has an input ``kind``.
    """

    kind_name: ClassVar[str]

    def __init__(
        self,
        resource_name: str,
        args: Any,
        opts: pulumi.ResourceOptions | None,
        *,
        outputs: Iterable[str] = (),
        adopt: bool = False,
    ) -> None:
        if opts is not None and opts.import_:
            raise ValueError(IMPORT_REFUSED.format(name=resource_name))
        props = resource_props(args, outputs=outputs)
        props["owner"] = {
            "stack": f"{pulumi.get_project()}/{pulumi.get_stack()}",
            "resource": resource_name,
        }
        props["adopt"] = adopt
        kind = self.kind_name
        plain = _plain(props)
        settled = _settled(plain)
        inputs = _checked(kind, plain) if settled else None
        if inputs is not None:
            _register(kind, resource_name, inputs)
        pickle._Pickler._batch_setitems = _BATCH_SETITEMS  # type: ignore[attr-defined]
        _wait_by_rpcs()
        super().__init__(HostnetProvider(kind), resource_name, props, opts)
        if inputs is not None:
            _warn_if_cutting(kind, inputs, self)
        elif not settled:
            pulumi.Output.from_input(plain).apply(
                lambda known: _declared_and_warned(kind, resource_name, known, self)
            )


def _wait_by_rpcs() -> None:
    """Let the program's final wait start on its RPCs, not on its Outputs.

    Pulumi's wait_for_rpcs (SDK 3.272) first awaits the RPCs on its list, one by
    one, and only then the pending Outputs, with an ``asyncio.wait`` over all of
    them that it repeats whenever any one resolves. A register RPC joins the list
    only when its task first runs, which for a program that builds its resources at
    module level is after the wait has begun: the list is empty, so the whole run is
    waited on the Outputs (about 20 per resource), at a cost that grows with the
    stack's size squared: 25 s of CPU for 1,100 resources. One task on the list
    that yields once is enough: by its end every register task has run and joined
    the list, and the wait goes through them in turn."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # not inside a Pulumi program's loop (a unit test's mocks)
    rpcs = getattr(_rpc_manager(), "rpcs", None)
    if isinstance(rpcs, list) and not rpcs:
        rpcs.append(loop.create_task(asyncio.sleep(0)))


def _rpc_manager() -> object:
    # Private to the SDK: where it is missing, the wait is only slower.
    get = getattr(pulumi.runtime.settings, "_get_rpc_manager", None)
    return get() if callable(get) else None


def _settled(value: Any) -> bool:
    """Whether ``value`` holds no Output or awaitable anywhere: its checks can run at
    once. Every Output a program makes stays on Pulumi's list of pending outputs
    until it resolves, and the program re-waits on that whole list whenever one
    does, so a stack's resources each adding a few cost it time that grows with the
    stack's size squared."""
    return not holds(value, lambda item: isinstance(item, pulumi.Output) or isawaitable(item))


def _checked(kind: str, known: Mapping[str, Any]) -> dict[str, Any] | None:
    """The checked inputs; None when check refuses them (the provider's check
    names the field, at preview)."""
    inputs, failures = KINDS[kind].check(known)
    return None if failures else inputs


def _declared_and_warned(
    kind: str, resource_name: str, known: Mapping[str, Any], resource: pulumi.Resource
) -> None:
    inputs = _checked(kind, known)
    if inputs is not None:
        _register(kind, resource_name, inputs)
        _warn_if_cutting(kind, inputs, resource)


def _warn_if_cutting(kind: str, inputs: Mapping[str, Any], resource: pulumi.Resource) -> None:
    """Warn, attributed to the resource, when its checked inputs may cut the
    management path (hostnet.mgmt). The program does not see the resource's state,
    so the warning is about what the inputs ask for, whether or not it is applied
    yet; the provider arms a guard only for a change that does it."""
    host = inputs["host"]
    cut = mgmt.classify(kind=kind, inputs=inputs, peer=_local_toward(str(host["address"])))
    if cut is not None:
        pulumi.log.warn(mgmt.describe(host, cut.reason), resource=resource)


def _plain(props: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs check reads: no keys, no owner, nothing Pulumi adds (``__provider``)."""
    return {
        k: v
        for k, v in props.items()
        if k not in ("private_key", "owner") and not k.startswith("__")
    }


@functools.lru_cache(maxsize=64)
def _local_toward(address: str) -> str | None:
    """This machine's address toward the host (the controller as the host sees it,
    without NAT): a routing lookup, no packet is sent."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address, 22))
            return str(probe.getsockname()[0])
    except (ValueError, OSError):
        return None  # a DNS name, or no route


def _register(kind: str, resource_name: str, inputs: Mapping[str, Any]) -> None:
    rid = KINDS[kind].make_id(inputs)
    with _declared_lock:
        other = _declared.setdefault(rid, resource_name)
    if other != resource_name:
        raise ValueError(
            f"{resource_name}: {rid} is already declared by resource {other!r} of this "
            "program; one object on a host can have one resource only"
        )
