"""IPv6 as a first-class family: a bridge and a container leg with IPv6
addresses, and routes through IPv6 gateways on the host and in the container.

A route's gateway must lie in a network connected where the route lives; for
IPv6 that is the /64 the address brings, which the kernel marks differently from
IPv4's (scope global, no gateway), and hostnet reads it as connected.
"""

import pulumi

import pulumi_hostnet as hn
from pulumi_hostnet.program import host_from_config

config = pulumi.Config()
container = config.get("container") or "test1.1"
host = host_from_config(config, name="h1", address=config.get("address") or "10.32.171.202")

bridge = hn.Bridge(
    "v6-bridge", hn.BridgeArgs(host=host, name="v6br0", addresses=["fd00:6:1::1/64"])
)
leg = hn.Veth(
    "v6-leg",
    hn.VethArgs(
        host=host,
        name="v6c.eth0",
        peer_name="v6eth0",
        peer_netns=container,
        master=bridge.name,
        peer_addresses=["fd00:6:1::2/64"],
    ),
)
after_leg = pulumi.ResourceOptions(depends_on=[leg])
# In the container: a network beyond the bridge, and the IPv6 default route.
hn.Route(
    "v6-container-net",
    hn.RouteArgs(host=host, netns=container, dst="fd00:6:9::/64", via="fd00:6:1::1"),
    opts=after_leg,
)
hn.Route(
    "v6-container-default",
    hn.RouteArgs(host=host, netns=container, dst="default", via="fd00:6:1::1"),
    opts=after_leg,
)
# On the host: a network behind the container, through the container's address.
hn.Route(
    "v6-host-net",
    hn.RouteArgs(host=host, dst="fd00:6:8::/64", via="fd00:6:1::2"),
    opts=after_leg,
)
