"""Every hostnet resource kind on one host: a plain namespace ``blue`` wired to a
bridge by a veth, a router namespace between that bridge and a second one, NAT
and filter rules, routes, a policy routing rule with its table, and a sysctl."""

import pulumi

import pulumi_hostnet as hn

config = pulumi.Config()
host = hn.Host(
    name="h2",
    address=config.get("address") or "10.32.171.203",
    key_file=config.get("keyFile"),
    known_hosts=config.get("knownHosts"),
    private_key=config.get_secret("privateKey"),
)

# Where blue answers on the front bridge; moving it within 172.30.1.0/24 keeps
# blue's routes (README, "Order").
blue_ip = config.get("blueAddress") or "172.30.1.10"

forwarding = hn.Sysctl("forwarding", hn.SysctlArgs(host=host, key="net.ipv4.ip_forward", value=1))
blue = hn.Netns("blue", hn.NetnsArgs(host=host, name="blue"))
front = hn.Bridge("front", hn.BridgeArgs(host=host, name="hnfront", addresses=["172.30.1.1/24"]))
back = hn.Bridge("back", hn.BridgeArgs(host=host, name="hnback", addresses=["172.30.2.1/24"]))
leg = hn.Veth(
    "blue-leg",
    hn.VethArgs(
        host=host,
        name="blue.eth0",
        peer_name="eth0",
        peer_netns=blue.name,
        master=front.name,
        peer_addresses=[f"{blue_ip}/24"],
    ),
)
hn.Route(
    "blue-default",
    hn.RouteArgs(host=host, netns=blue.name, dst="default", via="172.30.1.1"),
    opts=pulumi.ResourceOptions(depends_on=[leg]),
)
router = hn.NetnsRouter(
    "edge",
    hn.NetnsRouterArgs(
        host=host,
        name="edge",
        interfaces=[
            hn.RouterInterface(
                name="edge.eth0", inside_name="eth0", bridge=front.name, address="172.30.1.254/24"
            ),
            hn.RouterInterface(
                name="edge.eth1", inside_name="eth1", bridge=back.name, address="172.30.2.254/24"
            ),
        ],
        routes=[hn.RouterRoute(dst="172.30.9.0/24", via="172.30.2.1")],
    ),
)
hn.Route(
    "to-edge",
    hn.RouteArgs(host=host, dst="172.30.8.0/24", via="172.30.1.254"),
    opts=pulumi.ResourceOptions(depends_on=[router]),
)
# blue answers from its address through a table of its own (policy routing).
blue_rule = hn.RoutingRule(
    "blue-from-front",
    hn.RoutingRuleArgs(host=host, netns=blue.name, priority=1010, src=blue_ip, table=110),
    opts=pulumi.ResourceOptions(depends_on=[leg]),
)
hn.Route(
    "blue-table-110",
    hn.RouteArgs(host=host, netns=blue.name, dst="default", via="172.30.1.254", table=110),
    opts=pulumi.ResourceOptions(depends_on=[leg, blue_rule]),
)
hn.NatRule(
    "masquerade",
    hn.NatRuleArgs(host=host, kind="masquerade", source="172.30.1.0/24", out_interface="ens32"),
)
hn.NatRule(
    "ssh-to-blue",
    hn.NatRuleArgs(
        host=host,
        kind="dnat",
        in_interface="ens32",
        protocol="tcp",
        dport=2222,
        to=f"{blue_ip}:22",
    ),
)
hn.FirewallRule(
    "from-front",
    hn.FirewallRuleArgs(host=host, in_interface=front.name, out_interface="!hnfront", position=10),
)
hn.FirewallRule(
    "to-front",
    hn.FirewallRuleArgs(
        host=host, out_interface=front.name, ctstate=["RELATED", "ESTABLISHED"], position=11
    ),
)

pulumi.export("ids", [blue.resource_id, front.resource_id, leg.resource_id, router.resource_id])
