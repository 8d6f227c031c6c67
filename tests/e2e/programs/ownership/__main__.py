"""Every kind on lab host h3, as an operator might rename and replace them.

Config: ``suffix`` (appended to every logical name: a rename of every resource),
``position`` (of both rules: a replacement), ``adopt`` (take over what is there).
Exports ``matrix`` and ``connections`` for ``hostnet verify``.
"""

import pulumi

import pulumi_hostnet as hn

config = pulumi.Config()
suffix = config.get("suffix") or ""
position = config.get_int("position") or 10
host = hn.Host(
    name="h3",
    address="10.32.171.204",
    key_file="/run/hostnet-lab/id_ed25519",
    known_hosts="/run/hostnet-lab/known_hosts",
)


def named(base: str) -> str:
    return base + suffix


forwarding = hn.Sysctl(
    named("forwarding"), hn.SysctlArgs(host=host, key="net.ipv4.ip_forward", value=1)
)
bridge = hn.Bridge(
    named("bridge0"), hn.BridgeArgs(host=host, name="bridge0", addresses=["192.168.5.1/24"])
)
ns = hn.Netns(named("box"), hn.NetnsArgs(host=host, name="hnbox"))
leg = hn.Veth(
    named("box-leg"),
    hn.VethArgs(
        host=host,
        name="hnbox.eth0",
        peer_name="eth0",
        peer_netns=ns.name,
        master=bridge.name,
        peer_addresses=["192.168.5.40/24"],
    ),
)
hn.Route(
    named("box-default"),
    hn.RouteArgs(host=host, netns=ns.name, dst="default", via="192.168.5.1"),
    opts=pulumi.ResourceOptions(depends_on=[leg]),
)
router = hn.NetnsRouter(
    named("edge"),
    hn.NetnsRouterArgs(
        host=host,
        name="hnedge",
        interfaces=[
            hn.RouterInterface(
                name="hnedge.eth0",
                inside_name="eth0",
                bridge=bridge.name,
                address="192.168.5.254/24",
            )
        ],
    ),
)
hn.Route(
    named("beyond-edge"),
    hn.RouteArgs(host=host, dst="198.18.40.0/24", via="192.168.5.254"),
    opts=pulumi.ResourceOptions(depends_on=[router]),
)
hn.NatRule(
    named("masquerade"),
    hn.NatRuleArgs(
        host=host,
        kind="masquerade",
        source="192.168.5.0/24",
        out_interface="ens32",
        position=position,
    ),
)
hn.FirewallRule(
    named("from-bridge0"),
    hn.FirewallRuleArgs(host=host, in_interface=bridge.name, position=position),
)


def claim(source: str, netns: str | None, address: str, why: str) -> dict[str, object]:
    return {
        "source": source,
        "host": "h3",
        "netns": netns,
        "kind": "ping",
        "address": address,
        "expect": "ok",
        "milestone": 0,
        "why": why,
    }


pulumi.export(
    "matrix",
    [
        claim("hnbox", "hnbox", "192.168.5.1", "the veth joins bridge0"),
        claim("h3", None, "192.168.5.40", "bridge0 reaches the namespace"),
        claim("hnbox", "hnbox", "192.168.5.254", "the router's leg is on bridge0"),
        claim("hnbox", "hnbox", "10.32.171.204", "the default route and forwarding"),
    ],
)
pulumi.export(
    "connections",
    {
        "h3": {
            "address": "10.32.171.204",
            "key_file": host.key_file,
            "known_hosts": host.known_hosts,
        }
    },
)
