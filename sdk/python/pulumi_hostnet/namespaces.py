"""Netns, NetnsRouter and Sysctl."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi.dynamic

from hostnet.resources import netns, netns_router, sysctl
from pulumi_hostnet._resource import HostnetResource
from pulumi_hostnet.host import Host


@dataclass(frozen=True, kw_only=True)
class NetnsArgs:
    """Inputs of a Netns.

    Attributes:
        host: The host. Changing its name replaces the namespace.
        name: Namespace name as ``ip netns`` shows it. Replaces on change.
    """

    host: Host
    name: pulumi.Input[str]


class Netns(HostnetResource, module="hostnet", name="Netns"):
    """A named network namespace, marked as hostnet's by its loopback's alias."""

    kind_name = netns.NAME

    resource_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: NetnsArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(resource_name, args, opts, adopt=adopt)


@dataclass(frozen=True, kw_only=True)
class RouterInterface:
    """One leg of a NetnsRouter.

    Attributes:
        name: Host end of the leg's veth (``testrt3.eth0``).
        inside_name: Its end inside the router (``veth0``).
        address: REQUIRED address with prefix in the network this leg faces
            (``10.32.171.205/24``); a leg without one cannot route.
        bridge: Host bridge the leg joins (``br-ens32``).
    """

    name: pulumi.Input[str]
    inside_name: pulumi.Input[str]
    address: pulumi.Input[str]
    bridge: pulumi.Input[str] | None = None


@dataclass(frozen=True, kw_only=True)
class RouterRoute:
    """A route inside the router: ``dst`` via a gateway or out of an inside interface."""

    dst: pulumi.Input[str]
    via: pulumi.Input[str] | None = None
    dev: pulumi.Input[str] | None = None


@dataclass(frozen=True, kw_only=True)
class NetnsRouterArgs:
    """Inputs of a NetnsRouter.

    Attributes:
        host: The host. Changing its name replaces the router.
        name: Name of the router's namespace (``testrt3``). Replaces on change.
        interfaces: Its legs, one per network it joins; updated in place.
        routes: Routes inside the router beyond its connected networks.
        forwarding: IPv4 forwarding in the router; on by default.
    """

    host: Host
    name: pulumi.Input[str]
    interfaces: Sequence[RouterInterface]
    routes: Sequence[RouterRoute] = field(default_factory=list)
    forwarding: bool = True


class NetnsRouter(HostnetResource, module="hostnet", name="NetnsRouter"):
    """A router built from a network namespace with one veth leg per network."""

    kind_name = netns_router.NAME

    resource_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: NetnsRouterArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(resource_name, args, opts, adopt=adopt)


@dataclass(frozen=True, kw_only=True)
class SysctlArgs:
    """Inputs of a Sysctl.

    Attributes:
        host: The host. Changing its name replaces the setting.
        key: Dotted name (``net.ipv4.conf.all.forwarding``). Replaces on change.
        value: The value to set; the value found before is restored on delete.
        netns: Namespace the setting belongs to; the host's when unset. Replaces.
    """

    host: Host
    key: str
    value: pulumi.Input[str | int]
    netns: pulumi.Input[str] | None = None


class Sysctl(HostnetResource, module="hostnet", name="Sysctl"):
    """A kernel setting; the earlier value comes back when the resource is deleted."""

    kind_name = sysctl.NAME

    resource_id: pulumi.Output[str]
    previous: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: SysctlArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(resource_name, args, opts, outputs=("previous",), adopt=adopt)
