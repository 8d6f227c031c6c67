"""The seed's three hosts with one NIC each, their containers joined into one L2
network over the hosts' own addresses: a VXLAN overlay.

Per host: a bridge ``br-overlay`` whose ports are a Vxlan device (vni 42, the
other hosts' addresses as peers) and a veth pair into the container
(10.42.0.N/24, the overlay's MTU). On h1 a router namespace joins the overlay
(10.42.0.1) to the hosts' network (its leg on br-ens32, which takes over ens32)
and NATs the containers out; their default route goes through it.

Config (``Pulumi.<stack>.yaml``): ``hosts`` (name, address, container, n, nic,
nic_mtu), ``router``, ``outside``, ``detached`` (hosts left out of the peers),
and how to log in: ``user``, ``keyFile``, ``knownHosts``, ``privateKey`` (secret),
``sudo``, ``python``.
"""

from __future__ import annotations

import pulumi
from claims import expected_matrix

import pulumi_hostnet as hn
from overlay import NETWORK, VNI, OverlayHost, from_config
from pulumi_hostnet.program import host_from_config, verify_connection

config = pulumi.Config()
overlay = from_config(
    config.get_object("hosts"),
    config.get_object("router"),
    config.get("outside"),
    config.get_object("detached"),
)
router = overlay.router


def connect(h: OverlayHost) -> hn.Host:
    return host_from_config(config, name=h.name, address=h.address)


def overlay_host(h: OverlayHost, host: hn.Host, after: list[pulumi.Resource]) -> hn.Bridge:
    """br-overlay with the Vxlan port and the container's veth on it."""
    bridge = hn.Bridge(
        f"{h.name}-br-overlay",
        hn.BridgeArgs(host=host, name="br-overlay"),
        opts=pulumi.ResourceOptions(depends_on=after),
    )
    hn.Vxlan(
        f"{h.name}-vx-overlay",
        hn.VxlanArgs(
            host=host,
            name="vx-overlay",
            vni=VNI,
            local=h.address,
            remotes=overlay.peers_of(h),
            master=bridge.name,
        ),
    )
    leg = hn.Veth(
        f"{h.name}-{h.container}-ov",
        hn.VethArgs(
            host=host,
            name=f"{h.container}.ov",
            peer_name="ov0",
            peer_netns=h.container,
            master=bridge.name,
            peer_addresses=[f"{h.overlay_address}/24"],
            mtu=overlay.mtu,
        ),
    )
    hn.Route(
        f"{h.name}-{h.container}-default",
        hn.RouteArgs(host=host, netns=h.container, dst="default", via=router.overlay_address),
        opts=pulumi.ResourceOptions(depends_on=[leg]),
    )
    return bridge


def overlay_router(h: OverlayHost, host: hn.Host, uplink: hn.Bridge, bridge: hn.Bridge) -> None:
    """A namespace with a leg on the hosts' network and one on the overlay; NAT out."""
    legs = [
        hn.RouterInterface(
            name=f"{router.name}.eth0",
            inside_name="veth0",
            bridge=uplink.name,
            address=f"{router.uplink_address}/{router.prefix}",
        ),
        hn.RouterInterface(
            name=f"{router.name}.eth1",
            inside_name="veth1",
            bridge=bridge.name,
            address=f"{router.overlay_address}/24",
        ),
    ]
    made = hn.NetnsRouter(
        f"{h.name}-{router.name}",
        hn.NetnsRouterArgs(
            host=host,
            name=router.name,
            interfaces=legs,
            routes=[hn.RouterRoute(dst="default", via=router.gateway)],
        ),
    )
    hn.NatRule(
        f"{h.name}-{router.name}-masquerade",
        hn.NatRuleArgs(
            host=host,
            netns=router.name,
            kind="masquerade",
            source=NETWORK,
            out_interface="veth0",
            name=f"masquerade-{NETWORK}",
        ),
        opts=pulumi.ResourceOptions(depends_on=[made]),
    )


for h in overlay.hosts:
    host = connect(h)
    if h.name == router.host:
        uplink = hn.Bridge(
            f"{h.name}-{router.uplink_bridge}",
            hn.BridgeArgs(host=host, name=router.uplink_bridge, uplink=h.nic, promisc=True),
        )
        overlay_router(h, host, uplink, overlay_host(h, host, [uplink]))
    else:
        overlay_host(h, host, [])


pulumi.export("mtu", overlay.mtu)
pulumi.export("peers", {h.name: overlay.peers_of(h) for h in overlay.hosts})
pulumi.export("connections", {h.name: verify_connection(connect(h)) for h in overlay.hosts})
pulumi.export("matrix", expected_matrix(overlay))
