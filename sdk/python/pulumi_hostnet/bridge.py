"""Bridge: a Linux bridge on one host."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi.dynamic

from hostnet.resources import bridge
from pulumi_hostnet._resource import HostnetResource
from pulumi_hostnet.host import Host


@dataclass(frozen=True, kw_only=True)
class BridgeArgs:
    """Inputs of a Bridge.

    Attributes:
        host: The host the bridge lives on. Changing its name replaces the bridge.
        name: Interface name (at most 15 bytes). Changing it replaces the bridge.
        addresses: Addresses with prefix, e.g. ``["192.168.5.1/24"]``. Exactly
            these are kept on the bridge; others found there are removed.
        ports: Existing NICs to enslave (``["ens34"]``). They are released, not
            deleted, when removed from the list or when the bridge is deleted.
        mtu: MTU; left as the kernel chooses when unset.
        promisc: Promiscuous mode of the bridge itself.
        up: Administrative state; up by default.
        netns: Namespace the bridge lives in (name, ``pid:N``, a path, or
            ``container:NAME``); the host's own when unset. Changing it replaces.
        uplink: A NIC carrying the host's own traffic (``ens32``) to take over:
            its addresses, routes and MAC move to the bridge and it becomes a
            port, in one step on the host; deleting the bridge moves them back.
            Leave ``addresses`` empty with it. Changing it replaces the bridge.
    """

    host: Host
    name: pulumi.Input[str]
    addresses: Sequence[pulumi.Input[str]] = field(default_factory=list)
    ports: Sequence[pulumi.Input[str]] = field(default_factory=list)
    mtu: pulumi.Input[int] | None = None
    promisc: bool = False
    up: bool = True
    netns: pulumi.Input[str] | None = None
    uplink: pulumi.Input[str] | None = None


class Bridge(HostnetResource, module="hostnet", name="Bridge"):
    """A Linux bridge, marked as hostnet's; never adopts one it did not create."""

    kind_name = bridge.NAME

    resource_id: pulumi.Output[str]
    name: pulumi.Output[str]
    addresses: pulumi.Output[list[str]]
    ports: pulumi.Output[list[str]]
    ifindex: pulumi.Output[int]
    mac: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: BridgeArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(resource_name, args, opts, outputs=("ifindex", "mac"), adopt=adopt)
