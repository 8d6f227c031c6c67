"""Declares bridge0 and net.ipv4.ip_forward on lab host h3, which another stack
owns; ``adopt`` (config) takes them over on purpose."""

import pulumi

import pulumi_hostnet as hn

config = pulumi.Config()
adopt = config.get_bool("adopt") or False
host = hn.Host(
    name="h3",
    address="10.32.171.204",
    key_file="/run/hostnet-lab/id_ed25519",
    known_hosts="/run/hostnet-lab/known_hosts",
)
hn.Bridge(
    "my-bridge0",
    hn.BridgeArgs(host=host, name="bridge0", addresses=["192.168.5.1/24"]),
    adopt=adopt,
)
hn.Sysctl(
    "my-forwarding", hn.SysctlArgs(host=host, key="net.ipv4.ip_forward", value=1), adopt=adopt
)
