"""Pulumi resources for Linux host networks, applied over SSH by hostnet."""

from pulumi_hostnet.bridge import Bridge, BridgeArgs
from pulumi_hostnet.host import Host
from pulumi_hostnet.namespaces import (
    Netns,
    NetnsArgs,
    NetnsRouter,
    NetnsRouterArgs,
    RouterInterface,
    RouterRoute,
    Sysctl,
    SysctlArgs,
)
from pulumi_hostnet.route import Route, RouteArgs
from pulumi_hostnet.rules import FirewallRule, FirewallRuleArgs, NatRule, NatRuleArgs
from pulumi_hostnet.veth import Veth, VethArgs
from pulumi_hostnet.vxlan import Vxlan, VxlanArgs

__all__ = [
    "Bridge",
    "BridgeArgs",
    "FirewallRule",
    "FirewallRuleArgs",
    "Host",
    "NatRule",
    "NatRuleArgs",
    "Netns",
    "NetnsArgs",
    "NetnsRouter",
    "NetnsRouterArgs",
    "Route",
    "RouteArgs",
    "RouterInterface",
    "RouterRoute",
    "Sysctl",
    "SysctlArgs",
    "Veth",
    "VethArgs",
    "Vxlan",
    "VxlanArgs",
]
