"""RoutingRule: a policy routing rule (``ip rule``) on a host or inside a namespace."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from hostnet.resources import routing_rule
from pulumi_hostnet._resource import HostnetResource
from pulumi_hostnet.host import Host


@dataclass(frozen=True, kw_only=True)
class RoutingRuleArgs:
    """Inputs of a RoutingRule.

    Attributes:
        host: The host. Changing its name replaces the rule.
        priority: The rule's priority, 1..32765 (the kernel's rules 0, 32766 and
            32767 are never touched). Names the rule; replaces on change. On kernels
            before 4.17 (no rule protocol) it must lie in 1000..1999.
        src: Source network selector (``ip rule from``); a bare address is a /32.
        dst: Destination network selector (``ip rule to``).
        iif: Incoming interface selector (``lo`` selects locally generated traffic).
        oif: Outgoing interface selector.
        fwmark: Firewall mark selector; fwmask its mask (all bits when unset).
        fwmask: Mask applied to the packet's mark before comparing with fwmark.
        tos: Type of service selector.
        action: ``table`` (look up ``table``; the default), ``unreachable``,
            ``prohibit`` or ``blackhole``.
        table: Routing table to look up; fill it with ``Route(table=...)``.
        family: 4 or 6; taken from src/dst when they are given, else 4. Replaces on change.
        netns: Namespace of the rule (name, ``pid:N``, path, ``container:NAME``);
            the host's own when unset. Replaces on change.
    """

    host: Host
    priority: pulumi.Input[int]
    src: pulumi.Input[str] | None = None
    dst: pulumi.Input[str] | None = None
    iif: pulumi.Input[str] | None = None
    oif: pulumi.Input[str] | None = None
    fwmark: pulumi.Input[int] | None = None
    fwmask: pulumi.Input[int] | None = None
    tos: pulumi.Input[int] | None = None
    action: pulumi.Input[str] | None = None
    table: pulumi.Input[int] | None = None
    family: pulumi.Input[int] | None = None
    netns: pulumi.Input[str] | None = None


class RoutingRule(HostnetResource, module="hostnet", name="RoutingRule"):
    """A policy routing rule, marked as hostnet's by its protocol (77); foreign rules
    and the kernel's own are left alone."""

    kind_name = routing_rule.NAME

    resource_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: RoutingRuleArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(resource_name, args, opts, adopt=adopt)
