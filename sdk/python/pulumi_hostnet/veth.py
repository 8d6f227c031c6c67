"""Veth: a veth pair from the host into a namespace or container."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi.dynamic

from hostnet.resources import veth
from pulumi_hostnet._resource import HostnetResource
from pulumi_hostnet.host import Host


@dataclass(frozen=True, kw_only=True)
class VethArgs:
    """Inputs of a Veth.

    Attributes:
        host: The host. Changing its name replaces the pair.
        name: Host end's interface name (``test1.1.eth0``). Replaces on change.
        peer_name: Peer end's name inside ``peer_netns`` (``veth0``). Replaces on change.
        peer_netns: Where the peer goes: a netns name, ``pid:N``, a path such as
            ``/proc/N/ns/net``, or ``container:NAME`` (docker/podman, resolved on the
            host when applied). The host namespace when unset. Replaces on change.
        master: Bridge the host end joins (``bridge0``); updated in place.
        addresses: Addresses with prefix on the host end.
        peer_addresses: Addresses with prefix on the peer end (``192.168.5.2/24``).
        mtu: MTU of both ends.
        promisc: Promiscuous mode of both ends.
        up: Administrative state of both ends; up by default.
    """

    host: Host
    name: pulumi.Input[str]
    peer_name: pulumi.Input[str]
    peer_netns: pulumi.Input[str] | None = None
    master: pulumi.Input[str] | None = None
    addresses: Sequence[pulumi.Input[str]] = field(default_factory=list)
    peer_addresses: Sequence[pulumi.Input[str]] = field(default_factory=list)
    mtu: pulumi.Input[int] | None = None
    promisc: bool = False
    up: bool = True


class Veth(HostnetResource, module="hostnet", name="Veth"):
    """A veth pair; both ends marked as hostnet's."""

    kind_name = veth.NAME

    resource_id: pulumi.Output[str]
    ifindex: pulumi.Output[int]
    mac: pulumi.Output[str]
    peer_ifindex: pulumi.Output[int]
    peer_mac: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: VethArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(
            resource_name,
            args,
            opts,
            outputs=("ifindex", "mac", "peer_ifindex", "peer_mac"),
            adopt=adopt,
        )
