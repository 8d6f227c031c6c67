"""The same small network on each of three hosts, 14 resources per host: two
namespaces wired to a bridge by veths, their default routes, a second bridge, a
route through each namespace, a sysctl inside each, a filter rule and a NAT rule.

Each host's part depends only on that host, so a host that cannot be reached
fails its own resources and no other's. The stack exports ``matrix`` and
``connections`` for ``hostnet verify``: each namespace reaches its bridge, its
sibling and the host's second bridge; nothing reaches another host's namespaces.
"""

from typing import Any

import pulumi

import pulumi_hostnet as hn
from pulumi_hostnet.program import host_from_config, verify_connection

config = pulumi.Config()
addresses: dict[str, str] = config.get_object("hosts") or {
    "h1": "10.32.171.202",
    "h2": "10.32.171.203",
    "h3": "10.32.171.204",
}
NAMESPACES = ("fleet-a", "fleet-b")


def claim(host: str, netns: str | None, address: str, *, ok: bool, why: str) -> dict[str, Any]:
    return {
        "milestone": 1,
        "source": f"{host}.{netns.removeprefix('fleet-')}" if netns else host,
        "host": host,
        "netns": netns,
        "kind": "ping",
        "address": address,
        "port": None,
        "expect": "ok" if ok else "blocked",
        "banner": None,
        "why": why,
    }


def build(n: int, name: str, host: hn.Host) -> list[dict[str, Any]]:
    """One host's resources; returns the claims they make true."""
    net = f"172.29.{n}"
    front = hn.Bridge(
        f"{name}-front", hn.BridgeArgs(host=host, name="fleet0", addresses=[f"{net}.1/24"])
    )
    hn.Bridge(f"{name}-back", hn.BridgeArgs(host=host, name="fleet1", addresses=[f"{net}0.1/24"]))
    claims = []
    for i, ns_name in enumerate(NAMESPACES, start=2):
        ns = hn.Netns(f"{name}-{ns_name}", hn.NetnsArgs(host=host, name=ns_name))
        leg = hn.Veth(
            f"{name}-{ns_name}-leg",
            hn.VethArgs(
                host=host,
                name=f"{ns_name}.0",
                peer_name="eth0",
                peer_netns=ns.name,
                master=front.name,
                peer_addresses=[f"{net}.{i}/24"],
            ),
        )
        hn.Route(
            f"{name}-{ns_name}-default",
            hn.RouteArgs(host=host, netns=ns.name, dst="default", via=f"{net}.1"),
            opts=pulumi.ResourceOptions(depends_on=[leg]),
        )
        hn.Sysctl(
            f"{name}-{ns_name}-forwarding",
            hn.SysctlArgs(host=host, netns=ns.name, key="net.ipv4.ip_forward", value=1),
        )
        hn.Route(
            f"{name}-{ns_name}-beyond",
            hn.RouteArgs(host=host, dst=f"172.29.{100 + 10 * n + i}.0/24", via=f"{net}.{i}"),
            opts=pulumi.ResourceOptions(depends_on=[leg]),
        )
        sibling = f"{net}.{5 - i}"
        claims += [
            claim(name, None, f"{net}.{i}", ok=True, why="the host reaches its namespace"),
            claim(name, ns_name, f"{net}.1", ok=True, why="a namespace reaches its bridge"),
            claim(name, ns_name, sibling, ok=True, why="namespaces share the bridge"),
            claim(name, ns_name, f"{net}0.1", ok=True, why="the default route leads to the host"),
        ]
    hn.FirewallRule(
        f"{name}-from-front",
        hn.FirewallRuleArgs(host=host, in_interface=front.name, position=20),
    )
    hn.NatRule(
        f"{name}-masquerade",
        hn.NatRuleArgs(host=host, kind="masquerade", source=f"{net}.0/24", out_interface="ens32"),
    )
    return claims


matrix: list[dict[str, Any]] = []
connections: dict[str, Any] = {}
for n, (name, address) in enumerate(sorted(addresses.items()), start=1):
    host = host_from_config(config, name=name, address=address)
    matrix += build(n, name, host)
    other = n % len(addresses) + 1
    why = "no host routes to another host's namespaces"
    matrix.append(claim(name, None, f"172.29.{other}.2", ok=False, why=why))
    connections[name] = verify_connection(host)

pulumi.export("matrix", matrix)
pulumi.export("connections", connections)
