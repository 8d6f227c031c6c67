"""Compose outputs: every kind takes a value another resource computes.

During the first ``pulumi preview`` none of these is known yet (a resource's id
exists only once it is made), so preview shows them as ``[unknown]`` and
hostnet checks everything else; ``pulumi up`` fills them in, in order.
"""

import pulumi

import pulumi_hostnet as hn
from pulumi_hostnet.program import host_from_config

config = pulumi.Config()
host = host_from_config(config, name="h3", address=config.get("address") or "10.32.171.204")


def last(rid: str) -> str:
    """The object's own name: the last part of a hostnet id (h3/bridge/cmpfront)."""
    return rid.rsplit("/", 1)[-1]


# A namespace whose name the veth, the route and the sysctl take from its output.
ns = hn.Netns("cmp-ns", hn.NetnsArgs(host=host, name="cmpblue"))
ns_name = ns.resource_id.apply(last)

front = hn.Bridge(
    "cmp-front", hn.BridgeArgs(host=host, name="cmpfront", addresses=["172.31.1.1/24"])
)
back = hn.Bridge("cmp-back", hn.BridgeArgs(host=host, name="cmpback", addresses=["172.31.2.1/24"]))
front_name = front.resource_id.apply(last)
back_name = back.resource_id.apply(last)

# The veth joins the bridge and enters the namespace named by their outputs;
# its peer address comes from the bridge's own address.
leg = hn.Veth(
    "cmp-leg",
    hn.VethArgs(
        host=host,
        name="cmp.eth0",
        peer_name="eth0",
        peer_netns=ns_name,
        master=front_name,
        peer_addresses=[front.addresses.apply(lambda a: a[0].replace(".1/", ".10/"))],
    ),
)

# A router whose legs join the two bridges by their output names.
router = hn.NetnsRouter(
    "cmp-edge",
    hn.NetnsRouterArgs(
        host=host,
        name="cmpedge",
        interfaces=[
            hn.RouterInterface(
                name="cmpedge.eth0",
                inside_name="eth0",
                bridge=front_name,
                address="172.31.1.254/24",
            ),
            hn.RouterInterface(
                name="cmpedge.eth1", inside_name="eth1", bridge=back_name, address="172.31.2.254/24"
            ),
        ],
        routes=[
            hn.RouterRoute(
                dst="172.31.9.0/24", via=back.addresses.apply(lambda a: a[0].split("/")[0])
            )
        ],
    ),
)


def leg_address(interfaces: list[dict[str, str]], index: int) -> str:
    return interfaces[index]["address"].split("/")[0]


# The host's route and the namespace's default route go via the router's address.
router_front = pulumi.Output.all(router.resource_id, router.interfaces).apply(
    lambda args: leg_address(args[1], 0)
)
hn.Route("cmp-to-edge", hn.RouteArgs(host=host, dst="172.31.8.0/24", via=router_front))
# The gateway is reached through the leg's network inside the namespace: the
# route waits for the leg (nothing in its inputs says so).
hn.Route(
    "cmp-ns-default",
    hn.RouteArgs(host=host, netns=ns_name, dst="default", via=router_front),
    opts=pulumi.ResourceOptions(depends_on=[leg]),
)

# NAT and filter rules on the bridges' output names and networks.
front_net = pulumi.Output.all(front.resource_id, front.addresses).apply(
    lambda args: args[1][0].rsplit(".", 1)[0] + ".0/24"
)
hn.NatRule(
    "cmp-masquerade",
    hn.NatRuleArgs(
        host=host,
        kind=front.resource_id.apply(lambda _: "masquerade"),
        source=front_net,
        out_interface="ens32",
    ),
)
hn.FirewallRule(
    "cmp-from-front",
    hn.FirewallRuleArgs(host=host, in_interface=front_name, out_interface=back_name, position=20),
)
hn.FirewallRule(
    "cmp-to-front",
    hn.FirewallRuleArgs(
        host=host,
        out_interface=front_name,
        ctstate=["RELATED", "ESTABLISHED"],
        position=21,
    ),
)

# A sysctl in the namespace whose value is computed from config by apply.
base = config.get_int("portBase") or 41000
hn.Sysctl(
    "cmp-ports",
    hn.SysctlArgs(
        host=host,
        key="net.ipv4.ip_local_port_range",
        netns=ns_name,
        value=pulumi.Output.all(ns.resource_id, base).apply(lambda a: f"{a[1]} {a[1] + 999}"),
    ),
)

pulumi.export("router_front", router_front)
pulumi.export("front_net", front_net)
