"""Vxlan: a VXLAN device joining hosts into one L2 network over their addresses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi.dynamic

from hostnet.resources import vxlan
from pulumi_hostnet._resource import HostnetResource
from pulumi_hostnet.host import Host


@dataclass(frozen=True, kw_only=True)
class VxlanArgs:
    """Inputs of a Vxlan.

    Attributes:
        host: The host the device lives on.
        name: Interface name (at most 15 bytes). Changing it replaces the device.
        vni: VXLAN network identifier, 1..16777215; peers must use the same.
        local: This host's address the tunnel is sent from (the VTEP address).
        remotes: Unicast peers (the other hosts' VTEP addresses): one static
            flooding FDB entry each, as ``bridge fdb append 00:00:00:00:00:00
            dst PEER`` makes. Added and removed in place; the device stays.
        group: A multicast group to reach the peers instead of ``remotes``
            (needs ``dev``).
        dev: The underlay interface the tunnel uses.
        dstport: UDP port of the peers, 4789 (IANA) by default; Linux's own
            default, 8472, is not used.
        ttl: TTL of the outer packets; the kernel's default when unset.
        learning: Learn remote MACs from received frames (on by default).
        mtu: MTU; by default the underlay's MTU minus 50 (IPv4) or 70 (IPv6),
            the underlay being ``dev`` or else the link holding ``local``.
        master: A bridge to join the device to, e.g. ``br-overlay``.
        netns: Namespace of the device (and of its underlay); the host's own
            when unset.

    Every field but ``remotes``, ``mtu`` and ``master`` replaces the device
    (the old one is deleted first: the kernel has one device per VNI and port).
    """

    host: Host
    name: pulumi.Input[str]
    vni: pulumi.Input[int]
    local: pulumi.Input[str] | None = None
    remotes: Sequence[pulumi.Input[str]] = field(default_factory=list)
    group: pulumi.Input[str] | None = None
    dev: pulumi.Input[str] | None = None
    dstport: pulumi.Input[int] = 4789
    ttl: pulumi.Input[int] | None = None
    learning: bool = True
    mtu: pulumi.Input[int] | None = None
    master: pulumi.Input[str] | None = None
    netns: pulumi.Input[str] | None = None


class Vxlan(HostnetResource, module="hostnet", name="Vxlan"):
    """A VXLAN device and its peers' FDB entries, marked as hostnet's."""

    kind_name = vxlan.NAME

    resource_id: pulumi.Output[str]
    name: pulumi.Output[str]
    remotes: pulumi.Output[list[str]]
    ifindex: pulumi.Output[int]
    mac: pulumi.Output[str]
    default_mtu: pulumi.Output[int]

    def __init__(
        self,
        resource_name: str,
        args: VxlanArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(
            resource_name,
            args,
            opts,
            outputs=("ifindex", "mac", "default_mtu"),
            adopt=adopt,
        )
