"""What every hostnet resource class does before Pulumi sees it.

Each resource gets a hidden input ``owner`` (this stack and the resource's name)
from which the provider's create makes the mark of the instance that owns the
objects on the host (see hostnet.ownership), and ``adopt`` when the program asks
to take over what is already there. Two resources of one program that would own
the same object are refused here, before any host is touched: on the host the
second would take the first one's object over.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
import pulumi.dynamic

from hostnet.resources import KINDS
from pulumi_hostnet._props import resource_props
from pulumi_hostnet._provider import HostnetProvider

_declared: dict[str, str] = {}
_declared_lock = threading.Lock()

IMPORT_REFUSED = (
    "{name}: hostnet resources cannot be imported (Pulumi's dynamic providers have no "
    "import step). Declare the resource with the object's settings and adopt=True, e.g. "
    'hn.Bridge("br0", hn.BridgeArgs(host=h1, name="br0"), adopt=True): `pulumi up` then '
    "takes the object over, and `pulumi destroy` deletes it."
)


class HostnetResource(pulumi.dynamic.Resource):
    """A dynamic resource served by hostnet's provider for one kind."""

    def __init__(
        self,
        kind: str,
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
        _declare(kind, resource_name, props)
        super().__init__(HostnetProvider(kind), resource_name, props, opts)


def _declare(kind: str, resource_name: str, props: Mapping[str, Any]) -> None:
    """Refuse a second resource of this program for the same host object, as soon
    as the object's identity is known (at once, or when the outputs it depends on
    resolve)."""
    plain = {k: v for k, v in props.items() if k not in ("private_key", "owner")}
    pulumi.Output.from_input(plain).apply(lambda known: _register(kind, resource_name, known))


def _register(kind: str, resource_name: str, known: Mapping[str, Any]) -> None:
    module = KINDS[kind]
    inputs, failures = module.check(known)
    if failures:
        return  # the provider's check names the field
    rid = module.make_id_for(inputs)
    with _declared_lock:
        other = _declared.setdefault(rid, resource_name)
    if other != resource_name:
        raise ValueError(
            f"{resource_name}: {rid} is already declared by resource {other!r} of this "
            "program; one object on a host can have one resource only"
        )
