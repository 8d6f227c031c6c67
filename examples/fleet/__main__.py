"""The seed's network at scale: C containers on each of three hosts (plan.py has
the names and addresses).

Per container: its three veth pairs (front, back, flat), its default route, and
the policy routing that answers from its back address by veth1 (a rule and two
routes in table 106): 7 resources. Per host: forwarding, the three bridges, NAT of
the front network, the seed's five FORWARD rules and a route to each other host's
back block: 12 resources. About 1,100 resources at the default C = 50.

Config: ``containers`` (default 50), ``hosts`` (name -> address, default the lab's
h1-h3), and how to log in: ``user``, ``keyFile``, ``knownHosts``, ``privateKey``
(secret), ``sudo``. The stack exports ``hostnet:claims`` for ``hostnet verify``:
the claims of the first and the last container of every host.
"""

from __future__ import annotations

import pulumi
from plan import BACK, FLAT, FRONT, Container, FleetHost, block, from_config, gateway, network
from plan import sample_claims as claims_of

import pulumi_hostnet as hn
from pulumi_hostnet.program import host_from_config, verify_connection

# The containers' policy routing for replies from their back address; the
# priority lies in the band hostnet uses on kernels that keep no rule protocol.
REPLY_RULE_PRIORITY, REPLY_TABLE = 1006, 106
After = pulumi.ResourceOptions

config = pulumi.Config()
hosts, count = from_config(config.get_object("hosts"), config.get_int("containers"))


def forwarding(h: FleetHost, host: hn.Host) -> None:
    hn.Sysctl(f"{h.name}-forwarding", hn.SysctlArgs(host=host, key="net.ipv4.ip_forward", value=1))


def bridges_of(h: FleetHost, host: hn.Host) -> list[hn.Bridge]:
    """The front and back bridges with their gateways, and the flat one on the NIC."""
    bridges = [
        hn.Bridge(
            f"{h.name}-bridge{i}",
            hn.BridgeArgs(host=host, name=f"bridge{i}", addresses=[f"{gateway(net)}/16"]),
        )
        for i, net in enumerate((FRONT, BACK))
    ]
    bridges.append(
        hn.Bridge(f"{h.name}-bridge2", hn.BridgeArgs(host=host, name="bridge2", ports=[h.flat_nic]))
    )
    return bridges


def nat_and_forward(h: FleetHost, host: hn.Host) -> None:
    """NAT of the front network and the seed's five FORWARD rules."""
    hn.NatRule(
        f"{h.name}-masquerade",
        hn.NatRuleArgs(
            host=host,
            kind="masquerade",
            source=network(FRONT),
            out_interface=h.nic,
            name=f"masquerade-{network(FRONT)}",
        ),
    )
    for i in (0, 1):
        bridge = f"bridge{i}"
        hn.FirewallRule(
            f"{h.name}-forward-from-{bridge}",
            hn.FirewallRuleArgs(
                host=host, in_interface=bridge, out_interface=f"!{bridge}", position=10 + 2 * i
            ),
        )
        hn.FirewallRule(
            f"{h.name}-forward-return-{bridge}",
            hn.FirewallRuleArgs(
                host=host,
                in_interface=f"!{bridge}",
                out_interface=bridge,
                ctstate=["RELATED", "ESTABLISHED"],
                position=11 + 2 * i,
            ),
        )
    hn.FirewallRule(
        f"{h.name}-forward-ssh-bridge1",
        hn.FirewallRuleArgs(
            host=host, out_interface="bridge1", protocol="tcp", dport=22, position=1
        ),
    )


def routes_to_others(h: FleetHost, host: hn.Host) -> None:
    for other in hosts:
        if other is not h:
            hn.Route(
                f"{h.name}-to-{other.name}-back",
                hn.RouteArgs(host=host, dst=block(other), via=other.address),
            )


def container_part(c: Container, host: hn.Host, bridges: list[hn.Bridge]) -> None:
    """The container's three legs, its default route and its answers by veth1."""
    legs = [
        hn.Veth(
            f"{c.name}-eth{j}",
            hn.VethArgs(
                host=host,
                name=f"{c.name}.eth{j}",
                peer_name=f"veth{j}",
                peer_netns=c.name,
                master=bridges[j].name,
                peer_addresses=[f"{c.address(net)}/16"],
            ),
        )
        for j, net in enumerate((FRONT, BACK, FLAT))
    ]
    hn.Route(
        f"{c.name}-default",
        hn.RouteArgs(host=host, netns=c.name, dst="default", via=gateway(FRONT)),
        opts=After(depends_on=[legs[0]]),
    )
    rule = hn.RoutingRule(
        f"{c.name}-from-back",
        hn.RoutingRuleArgs(
            host=host,
            netns=c.name,
            priority=REPLY_RULE_PRIORITY,
            src=c.address(BACK),
            table=REPLY_TABLE,
        ),
        opts=After(depends_on=[legs[1]]),
    )
    replies: list[tuple[str, dict[str, str]]] = [
        ("net", {"dst": network(BACK), "dev": "veth1"}),
        ("default", {"dst": "default", "via": gateway(BACK)}),
    ]
    for label, route in replies:
        hn.Route(
            f"{c.name}-back-{label}",
            hn.RouteArgs(host=host, netns=c.name, table=REPLY_TABLE, **route),
            opts=After(depends_on=[legs[1], rule]),
        )


# Registered step by step and container by container across the hosts, not host
# by host: the engine runs its steps (and a refresh its reads) in this order, at
# most --parallel at once, and each host makes its changes one request at a time
# and starts its agent at its first; interleaved, the hosts work in parallel.
logins = {h.name: host_from_config(config, name=h.name, address=h.address) for h in hosts}
for h in hosts:
    forwarding(h, logins[h.name])
bridges = {h.name: bridges_of(h, logins[h.name]) for h in hosts}
for h in hosts:
    nat_and_forward(h, logins[h.name])
for h in hosts:
    routes_to_others(h, logins[h.name])
for i in range(1, count + 1):
    for h in hosts:
        container_part(Container(host=h, i=i), logins[h.name], bridges[h.name])
pulumi.export("containers", count)
# What `hostnet verify` probes: the claims of the first and the last container of
# every host (README, "Verifying a stack").
pulumi.export(
    "hostnet:claims",
    {
        "version": 1,
        "hosts": {h.name: verify_connection(logins[h.name]) for h in hosts},
        "claims": claims_of(hosts, count),
    },
)
