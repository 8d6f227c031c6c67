"""bridge0 with 192.168.5.1/24 on h1: the first step of the seed's milestone 1."""

import pulumi

from pulumi_hostnet import Bridge, BridgeArgs, Host

config = pulumi.Config()
h1 = Host(
    name="h1",
    address=config.get("address") or "10.32.171.202",
    key_file=config.get("keyFile"),
    known_hosts=config.get("knownHosts"),
    private_key=config.get_secret("privateKey"),
)
bridge0 = Bridge("h1-bridge0", BridgeArgs(host=h1, name="bridge0", addresses=["192.168.5.1/24"]))

pulumi.export(
    "bridge0", {"ifindex": bridge0.ifindex, "mac": bridge0.mac, "addresses": bridge0.addresses}
)
