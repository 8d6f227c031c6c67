"""NatRule and FirewallRule: iptables rules in hostnet's own chains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi.dynamic

from hostnet.resources import firewall_rule, nat_rule
from pulumi_hostnet._resource import HostnetResource
from pulumi_hostnet.host import Host


@dataclass(frozen=True, kw_only=True)
class NatRuleArgs:
    """Inputs of a NatRule.

    Attributes:
        host: The host. Changing its name replaces the rule.
        kind: ``masquerade``, ``snat`` or ``dnat``.
        source: Source network to match (``192.168.5.0/24``); ``!`` negates.
        destination: Destination network to match; ``!`` negates.
        out_interface: Outgoing interface (masquerade, snat); ``!ens32`` negates.
        in_interface: Incoming interface (dnat).
        to: ``--to-source`` (snat) or ``--to-destination`` (dnat), ``addr[:port]``.
        protocol: ``tcp``, ``udp``, ``icmp`` or ``sctp``.
        dport: Destination port (with tcp, udp, sctp).
        position: Order among hostnet's rules of the chain, lowest first. Replaces.
        name: Name of the rule in its id; derived from kind, source and interface.
        netns: Namespace whose tables hold the rule; the host's when unset. Replaces.
    """

    host: Host
    kind: pulumi.Input[str]
    source: pulumi.Input[str] | None = None
    destination: pulumi.Input[str] | None = None
    out_interface: pulumi.Input[str] | None = None
    in_interface: pulumi.Input[str] | None = None
    to: pulumi.Input[str] | None = None
    protocol: pulumi.Input[str] | None = None
    dport: pulumi.Input[int] | None = None
    position: pulumi.Input[int] | None = None
    name: pulumi.Input[str] | None = None
    netns: pulumi.Input[str] | None = None


@dataclass(frozen=True, kw_only=True)
class FirewallRuleArgs:
    """Inputs of a FirewallRule.

    Attributes:
        host: The host. Changing its name replaces the rule.
        chain: ``FORWARD`` (default), ``INPUT`` or ``OUTPUT``. Replaces on change.
        in_interface: Incoming interface; ``!bridge0`` matches any other.
        out_interface: Outgoing interface; ``!bridge0`` matches any other.
        source: Source network; ``!`` negates.
        destination: Destination network; ``!`` negates.
        protocol: ``tcp``, ``udp``, ``icmp`` or ``sctp``.
        dport: Destination port (with tcp, udp, sctp).
        ctstate: Connection states, e.g. ``["RELATED", "ESTABLISHED"]``.
        action: ``ACCEPT`` (default), ``DROP``, ``REJECT`` or ``RETURN``.
        position: Order among hostnet's rules of the chain, lowest first. Replaces.
        name: Name of the rule in its id; derived from its matches when unset.
        netns: Namespace whose tables hold the rule; the host's when unset. Replaces.
    """

    host: Host
    chain: str = "FORWARD"
    in_interface: pulumi.Input[str] | None = None
    out_interface: pulumi.Input[str] | None = None
    source: pulumi.Input[str] | None = None
    destination: pulumi.Input[str] | None = None
    protocol: pulumi.Input[str] | None = None
    dport: pulumi.Input[int] | None = None
    ctstate: Sequence[str] | None = None
    action: str = "ACCEPT"
    position: pulumi.Input[int] | None = None
    name: pulumi.Input[str] | None = None
    netns: pulumi.Input[str] | None = None


class NatRule(HostnetResource, module="hostnet", name="NatRule"):
    """A MASQUERADE, SNAT or DNAT rule carrying the comment ``hostnet:<id>``."""

    kind_name = nat_rule.NAME

    resource_id: pulumi.Output[str]
    rule: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        args: NatRuleArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(resource_name, args, opts, outputs=("rule",), adopt=adopt)


class FirewallRule(HostnetResource, module="hostnet", name="FirewallRule"):
    """A filter rule carrying the comment ``hostnet:<id>``."""

    kind_name = firewall_rule.NAME

    resource_id: pulumi.Output[str]
    rule: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        args: FirewallRuleArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(resource_name, args, opts, outputs=("rule",), adopt=adopt)
