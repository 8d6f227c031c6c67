"""The seed network: three hosts, their containers, NAT, routes, a flat network
and a router made of a network namespace, milestone by milestone.

Config (``Pulumi.<stack>.yaml``): ``hosts`` (name, address, container, n, nic,
flat_nic), ``milestones`` (default all: 1, 2, 3, 4, 7; 5 or 6 build the write-up's
failed routers and are refused at preview), ``router``, ``outside``, and how to
log in: ``user``, ``keyFile``, ``knownHosts``, ``privateKey`` (secret), ``sudo``.
"""

from __future__ import annotations

import pulumi
from claims import earlier_claims, expected_matrix
from seed import SeedHost, from_config

import pulumi_hostnet as hn
from pulumi_hostnet.program import host_from_config, verify_connection

# The containers' policy routing for replies from 192.168.6.x (see symmetric_replies);
# the priority lies in the band hostnet uses on kernels that keep no rule protocol.
REPLY_RULE_PRIORITY, REPLY_TABLE = 1006, 106

config = pulumi.Config()
seed = from_config(
    config.get_object("hosts"),
    config.get_object("milestones"),
    config.get_object("router"),
    config.get("outside"),
)


def connect(h: SeedHost) -> hn.Host:
    return host_from_config(config, name=h.name, address=h.address)


def milestone1(h: SeedHost, host: hn.Host) -> dict[str, pulumi.Resource]:
    """Two bridges, two veth pairs into the container, its default route."""
    r: dict[str, pulumi.Resource] = {}
    r["forwarding"] = hn.Sysctl(
        f"{h.name}-forwarding", hn.SysctlArgs(host=host, key="net.ipv4.ip_forward", value=1)
    )
    for i, net in enumerate((5, 6)):
        bridge = hn.Bridge(
            f"{h.name}-bridge{i}",
            hn.BridgeArgs(host=host, name=f"bridge{i}", addresses=[f"192.168.{net}.1/24"]),
        )
        r[f"bridge{i}"] = bridge
        r[f"veth{i}"] = hn.Veth(
            f"{h.name}-{h.container}-eth{i}",
            hn.VethArgs(
                host=host,
                name=f"{h.container}.eth{i}",
                peer_name=f"veth{i}",
                peer_netns=h.container_ns,
                master=bridge.name,
                peer_addresses=[f"192.168.{net}.{h.n}/24"],
            ),
        )
    r["default"] = hn.Route(
        f"{h.name}-{h.container}-default",
        hn.RouteArgs(host=host, netns=h.container_ns, dst="default", via="192.168.5.1"),
        opts=pulumi.ResourceOptions(depends_on=[r["veth0"]]),
    )
    return r


def milestone2(h: SeedHost, host: hn.Host, built: dict[str, pulumi.Resource]) -> None:
    """Host NAT for 192.168.5.0/24 and the FORWARD accepts for both bridges."""
    uplink = built.get("uplink")
    hn.NatRule(
        f"{h.name}-masquerade",
        hn.NatRuleArgs(
            host=host,
            kind="masquerade",
            source="192.168.5.0/24",
            out_interface=seed.uplink_of(h),
            name="masquerade-192.168.5.0/24",
        ),
        opts=pulumi.ResourceOptions(depends_on=[uplink] if uplink else []),
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


def milestone3(h: SeedHost, host: hn.Host, built: dict[str, pulumi.Resource]) -> None:
    """/32 routes to the other hosts' 192.168.6.x, ssh to bridge1 allowed; while the
    flat network is not there, the containers' return routes over veth1."""
    after = [built["uplink"]] if "uplink" in built else []
    for other in seed.hosts:
        if other is h:
            continue
        hn.Route(
            f"{h.name}-to-{other.container}-6",
            hn.RouteArgs(host=host, dst=f"192.168.6.{other.n}/32", via=other.address),
            opts=pulumi.ResourceOptions(depends_on=after),
        )
        if not seed.has(4):
            hn.Route(
                f"{h.name}-{h.container}-to-{other.name}",
                hn.RouteArgs(
                    host=host, netns=h.container_ns, dst=f"{other.address}/32", via="192.168.6.1"
                ),
                opts=pulumi.ResourceOptions(depends_on=[built["veth1"]]),
            )
    symmetric_replies(h, host, built)
    hn.FirewallRule(
        f"{h.name}-forward-ssh-bridge1",
        hn.FirewallRuleArgs(
            host=host, out_interface="bridge1", protocol="tcp", dport=22, position=1
        ),
    )


def symmetric_replies(h: SeedHost, host: hn.Host, built: dict[str, pulumi.Resource]) -> None:
    """The container answers whatever reached its 192.168.6.x by way of veth1, the
    link it came in on: traffic from that address looks up a table of its own that
    knows only bridge1's network and a default route through bridge1. Without it,
    replies to other hosts leave by veth0 (after milestone 4) or veth2 (after
    milestone 7), and strict reverse-path filtering drops the requests."""
    veth1 = built["veth1"]
    rule = hn.RoutingRule(
        f"{h.name}-{h.container}-from-6",
        hn.RoutingRuleArgs(
            host=host,
            netns=h.container_ns,
            priority=REPLY_RULE_PRIORITY,
            src=f"192.168.6.{h.n}",
            table=REPLY_TABLE,
        ),
        opts=pulumi.ResourceOptions(depends_on=[veth1]),
    )
    routes: list[tuple[str, dict[str, str]]] = [
        ("net", {"dst": "192.168.6.0/24", "dev": "veth1"}),
        ("default", {"dst": "default", "via": "192.168.6.1"}),
    ]
    for label, route in routes:
        hn.Route(
            f"{h.name}-{h.container}-6-{label}",
            hn.RouteArgs(host=host, netns=h.container_ns, table=REPLY_TABLE, **route),
            opts=pulumi.ResourceOptions(depends_on=[veth1, rule]),
        )


def milestone4(h: SeedHost, host: hn.Host, built: dict[str, pulumi.Resource]) -> None:
    """bridge2 without address on ens34, a third veth pair on 192.168.7.0/24."""
    bridge2 = hn.Bridge(
        f"{h.name}-bridge2", hn.BridgeArgs(host=host, name="bridge2", ports=[h.flat_nic])
    )
    built["bridge2"] = bridge2
    built["veth2"] = hn.Veth(
        f"{h.name}-{h.container}-eth2",
        hn.VethArgs(
            host=host,
            name=f"{h.container}.eth2",
            peer_name="veth2",
            peer_netns=h.container_ns,
            master=bridge2.name,
            peer_addresses=[f"192.168.7.{h.n}/24"],
        ),
    )


def milestone7_uplink(h: SeedHost, host: hn.Host) -> hn.Bridge:
    """br-ens32 takes over ens32: its address, its routes and its MAC, in one step on the host."""
    return hn.Bridge(
        f"{h.name}-{seed.router.uplink_bridge}",
        hn.BridgeArgs(host=host, name=seed.router.uplink_bridge, uplink=h.nic, promisc=True),
    )


def milestone7_routes(
    h: SeedHost, host: hn.Host, built: dict[str, pulumi.Resource], router: pulumi.Resource
) -> None:
    network = seed.uplink_network
    hn.Route(
        f"{h.name}-{h.container}-to-uplink",
        hn.RouteArgs(host=host, netns=h.container_ns, dst=network, via=seed.router.flat_address),
        opts=pulumi.ResourceOptions(depends_on=[built["veth2"], router]),
    )
    hn.Route(
        f"{h.name}-to-flat",
        hn.RouteArgs(host=host, dst="192.168.7.0/24", via=seed.router.uplink_address),
        opts=pulumi.ResourceOptions(depends_on=[router]),
    )


def failed_router(h: SeedHost, host: hn.Host, milestone: int) -> None:
    """The write-up's milestones 5 and 6: router legs without an address in the
    network they face. Refused at preview, before any host is touched."""
    if milestone == 5:
        legs = [
            hn.RouterInterface(name="testrt.eth0", inside_name="veth0", address=""),
            hn.RouterInterface(
                name="testrt.eth1",
                inside_name="veth1",
                bridge="bridge2",
                address="192.168.7.100/24",
            ),
        ]
        routes = [
            hn.RouterRoute(dst="192.168.7.0/24", dev="veth1"),
            hn.RouterRoute(dst=seed.uplink_network, dev="veth0"),
        ]
        name = "testrt"
    else:
        legs = [hn.RouterInterface(name=f"{h.container}.eth3", inside_name="veth3", address="")]
        routes = [hn.RouterRoute(dst=seed.uplink_network, dev="veth3")]
        name = f"{h.container}-router"
    hn.NetnsRouter(
        f"{h.name}-milestone{milestone}-router",
        hn.NetnsRouterArgs(host=host, name=name, interfaces=legs, routes=routes),
    )


# Milestone by milestone across the hosts, not host by host: the engine starts its
# steps in the order they are declared, at most --parallel at once, and each host
# makes its changes one request at a time; interleaved, the hosts work at once.
logins = {h.name: connect(h) for h in seed.hosts}
built_all: dict[str, dict[str, pulumi.Resource]] = {h.name: {} for h in seed.hosts}
for h in seed.hosts:
    if seed.has(7) and h.name == seed.router.host:
        built_all[h.name]["uplink"] = milestone7_uplink(h, logins[h.name])
if seed.has(1):
    for h in seed.hosts:
        built_all[h.name].update(milestone1(h, logins[h.name]))
for number, milestone in ((2, milestone2), (3, milestone3), (4, milestone4)):
    if seed.has(number):
        for h in seed.hosts:
            milestone(h, logins[h.name], built_all[h.name])
for failed in (5, 6):
    if seed.has(failed):
        for h in seed.hosts:
            if h.name == seed.router.host:
                failed_router(h, logins[h.name], failed)

if seed.has(7):
    rh = next(h for h in seed.hosts if h.name == seed.router.host)
    legs = [
        hn.RouterInterface(
            name=f"{seed.router.name}.eth0",
            inside_name="veth0",
            bridge=seed.router.uplink_bridge,
            address=f"{seed.router.uplink_address}/{seed.uplink_prefix}",
        ),
        hn.RouterInterface(
            name=f"{seed.router.name}.eth1",
            inside_name="veth1",
            bridge="bridge2",
            address=f"{seed.router.flat_address}/24",
        ),
    ]
    router = hn.NetnsRouter(
        f"{rh.name}-{seed.router.name}",
        hn.NetnsRouterArgs(host=logins[rh.name], name=seed.router.name, interfaces=legs),
        opts=pulumi.ResourceOptions(
            depends_on=[built_all[rh.name]["uplink"], built_all[rh.name]["bridge2"]]
        ),
    )
    for h in seed.hosts:
        milestone7_routes(h, logins[h.name], built_all[h.name], router)


pulumi.export("milestones", sorted(seed.milestones))
pulumi.export(
    "hosts",
    {h.name: {"container": h.container, "built": sorted(built_all[h.name])} for h in seed.hosts},
)
# What `hostnet verify` probes (README, "Verifying a stack"); `earlier` for --sweep.
pulumi.export(
    "hostnet:claims",
    {
        "version": 1,
        "hosts": {h.name: verify_connection(logins[h.name]) for h in seed.hosts},
        "claims": expected_matrix(seed),
        "earlier": earlier_claims(seed),
    },
)
