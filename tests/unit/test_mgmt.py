"""Which changes may cut the management path (hostnet.mgmt.classify), from inputs alone."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet import mgmt

HOST = {"name": "h1", "address": "10.32.171.202", "port": 22}


def _reason(kind: str, olds: dict[str, Any] | None = None, **inputs: Any) -> str | None:
    cut = mgmt.classify(kind=kind, inputs={"host": HOST, **inputs}, olds=olds, peer="10.32.171.250")
    return None if cut is None else cut.reason


@pytest.mark.parametrize(
    ("kind", "inputs", "reason"),
    [
        ("bridge", {"name": "br-ens32", "uplink": "ens32"}, "br-ens32 takes over ens32"),
        ("bridge", {"name": "br0", "ports": ["ens32"]}, "ens32 enslaved to br0"),
        ("bridge", {"name": "br0", "up": False}, "br0 set down"),
        ("route", {"dst": "default", "via": "10.32.171.9"}, "default route replaced"),
        (
            "route",
            {"dst": "10.32.171.250/32", "via": "10.32.171.99"},
            "route to the controller 10.32.171.250 replaced by 10.32.171.250/32",
        ),
        (
            "route",
            {"dst": "10.32.171.200/30", "dev": "ens34"},
            "route to the host's own address 10.32.171.202 replaced by 10.32.171.200/30",
        ),
        (
            "firewall_rule",
            {"chain": "INPUT", "protocol": "tcp", "dport": 22, "action": "DROP"},
            "INPUT DROP can match tcp/22",
        ),
        ("firewall_rule", {"chain": "INPUT", "action": "REJECT"}, "INPUT REJECT can match tcp/22"),
        ("firewall_rule", {"chain": "OUTPUT", "action": "DROP"}, "OUTPUT DROP can match tcp/22"),
        (
            "firewall_rule",
            {"chain": "INPUT", "protocol": "tcp", "dport": "20:30", "action": "DROP"},
            "INPUT DROP can match tcp/22",
        ),
        (
            "sysctl",
            {"key": "net.ipv4.conf.all.rp_filter", "value": "1"},
            "net.ipv4.conf.all.rp_filter set to 1",
        ),
        (
            "sysctl",
            {"key": "net.ipv6.conf.ens32.disable_ipv6", "value": "1"},
            "net.ipv6.conf.ens32.disable_ipv6 set to 1",
        ),
    ],
)
def test_cutting_changes_are_named(kind: str, inputs: dict[str, Any], reason: str) -> None:
    assert _reason(kind, **inputs) == reason


@pytest.mark.parametrize(
    ("kind", "inputs"),
    [
        ("bridge", {"name": "bridge0", "addresses": ["192.168.5.1/24"]}),
        ("bridge", {"name": "br0", "ports": ["ens32"], "netns": "box"}),
        ("route", {"dst": "192.168.7.0/24", "via": "10.32.171.205"}),
        ("route", {"dst": "default", "via": "192.168.5.1", "netns": "container:test1.1"}),
        ("firewall_rule", {"chain": "FORWARD", "action": "DROP"}),
        ("firewall_rule", {"chain": "INPUT", "protocol": "tcp", "dport": 80, "action": "DROP"}),
        ("firewall_rule", {"chain": "INPUT", "protocol": "udp", "action": "DROP"}),
        ("firewall_rule", {"chain": "INPUT", "protocol": "tcp", "dport": 22, "action": "ACCEPT"}),
        ("sysctl", {"key": "net.ipv4.ip_forward", "value": "1"}),
        ("veth", {"name": "v0", "peer_name": "eth0"}),
    ],
)
def test_safe_changes_are_safe(kind: str, inputs: dict[str, Any]) -> None:
    assert _reason(kind, **inputs) is None


def test_what_is_applied_already_cuts_nothing_new() -> None:
    bridge = {"name": "br-ens32", "uplink": "ens32", "ports": ["ens34"], "up": True}
    assert _reason("bridge", olds={"host": HOST, **bridge}, **bridge) is None
    assert _reason("bridge", olds={"host": HOST, **bridge}, **{**bridge, "up": False}) == (
        "br-ens32 set down"
    )
    rule = {"chain": "INPUT", "protocol": "tcp", "dport": 22, "action": "DROP"}
    assert _reason("firewall_rule", olds={"host": HOST, **rule}, **rule) is None
    assert (
        _reason("sysctl", olds={"value": "2"}, key="net.ipv4.conf.all.rp_filter", value="2") is None
    )


def test_the_guard_saves_exactly_what_is_touched() -> None:
    cut = mgmt.classify(
        kind="bridge", inputs={"host": HOST, "name": "br-ens32", "uplink": "ens32", "up": False}
    )
    assert cut is not None
    assert cut.touches == (
        {"what": "link", "ifname": "br-ens32"},
        {"what": "link", "ifname": "ens32"},
    )
    cut = mgmt.classify(kind="route", inputs={"host": HOST, "dst": "default", "via": "10.32.171.1"})
    assert cut is not None and cut.touches == ({"what": "route", "dst": "default", "table": 254},)


def test_the_warning_names_host_address_and_device() -> None:
    assert mgmt.describe(HOST, "default route replaced", dev="ens32") == (
        "may cut the management path of h1 (10.32.171.202 via ens32): default route replaced"
    )
    assert mgmt.describe(HOST, "x") == "may cut the management path of h1 (10.32.171.202): x"


@pytest.mark.parametrize(
    ("inputs", "devices", "cuts"),
    [
        # The lab's hosts: SSH on ens32; ens34 carries no address and no route back.
        ({"name": "bridge2", "ports": ["ens34"]}, {"ens32"}, False),
        ({"name": "br-ens34", "uplink": "ens34"}, {"ens32"}, False),
        ({"name": "br0", "ports": ["ens32"]}, {"ens32"}, True),
        ({"name": "br-ens32", "uplink": "ens32"}, {"ens32"}, True),
        # The address on one link, the route back over another: both count.
        ({"name": "br0", "ports": ["ens34"]}, {"ens32", "ens34"}, True),
        # The path already rides on the bridge: setting it down cuts.
        ({"name": "br-ens32", "uplink": "ens32", "up": False}, {"br-ens32"}, True),
        # Unknown devices (the SDK's warning at preview): any NIC may carry the path.
        ({"name": "bridge2", "ports": ["ens34"]}, set(), True),
    ],
)
def test_a_bridge_cuts_only_the_links_the_path_rides_on_when_the_host_names_them(
    inputs: dict[str, Any], devices: set[str], cuts: bool
) -> None:
    cut = mgmt.refine(
        mgmt.classify(kind="bridge", inputs={"host": HOST, **inputs}, peer="10.32.171.250"),
        frozenset(devices),
    )
    assert (cut is not None) == cuts


def test_the_path_devices_are_the_route_back_and_the_link_holding_the_address() -> None:
    path = {"peer": "10.32.171.250", "local": "10.32.171.202", "dev": "ens32", "local_dev": "br0"}
    assert mgmt.path_devices(path) == {"ens32", "br0"}
    assert mgmt.path_devices(None) == frozenset()
    assert mgmt.path_devices({"peer": "10.32.171.250"}) == frozenset()
