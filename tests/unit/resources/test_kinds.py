"""Every kind: check accepts or rejects a table of inputs (naming field and reason),
diff classifies a table of changes, ids are readable and parse back."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet.ids import parse_id
from hostnet.resources import KINDS, diff
from hostnet.unknown import UNKNOWN
from tests.unit.kinds.cases import ROUTER_LEGS

HOST = {"name": "h1", "address": "10.32.171.202", "trust_on_first_use": True}

VALID: dict[str, dict[str, Any]] = {
    "veth": {
        "name": "test1.1.eth0",
        "peer_name": "veth0",
        "peer_netns": "test1.1",
        "master": "bridge0",
        "peer_addresses": ["192.168.5.2/24"],
    },
    "netns_router": {
        "name": "testrt3",
        "interfaces": ROUTER_LEGS,
        "routes": [{"dst": "10.1.0.0/16", "via": "10.32.171.1"}],
    },
    "route": {"dst": "192.168.6.3", "via": "10.32.171.203", "netns": None},
    "nat_rule": {"kind": "masquerade", "source": "192.168.5.0/24", "out_interface": "ens32"},
    "firewall_rule": {
        "in_interface": "bridge0",
        "out_interface": "!bridge0",
        "ctstate": ["ESTABLISHED", "RELATED"],
    },
    "routing_rule": {"priority": 1002, "src": "192.168.6.2", "table": 106, "netns": "test1.1"},
    "netns": {"name": "blue"},
    "sysctl": {"key": "net.ipv4.ip_forward", "value": 1.0},
}

REJECT = [
    ("veth", {"peer_name": "x" * 16}, "peer_name", "at most 15"),
    ("veth", {"peer_netns": "pid:abc"}, "peer_netns", "needs a process id"),
    ("veth", {"master": "veth0", "peer_netns": None, "name": "veth0"}, "master", "its own bridge"),
    ("veth", {"peer_addresses": ["192.168.5.2"]}, "peer_addresses[0]", "prefix length"),
    (
        "netns_router",
        {"interfaces": [{"name": "testrt.eth0", "inside_name": "veth0"}]},
        "interfaces[0].address",
        "a router interface must have an address in the network it faces",
    ),
    ("netns_router", {"interfaces": []}, "interfaces", "at least one"),
    (
        "netns_router",
        {"routes": [{"dst": "10.9.0.0/16", "via": "172.16.0.1"}]},
        "routes[0].via",
        "not inside any network of the router's interfaces",
    ),
    (
        "netns_router",
        {"routes": [{"dst": "10.9.0.0/16", "dev": "eth9"}]},
        "routes[0].dev",
        "inside_name",
    ),
    ("route", {"dst": "10.32.171.5/24"}, "dst", "host bits set; the network is 10.32.171.0/24"),
    ("route", {"via": "10.32.171.300"}, "via", "not an IP address"),
    ("route", {"via": None, "dev": None}, "via", "needs via, dev, or both"),
    ("route", {"metric": -1.0}, "metric", "outside"),
    ("nat_rule", {"kind": "redirect"}, "kind", "not one of"),
    ("nat_rule", {"kind": "snat"}, "to", "snat needs to="),
    (
        "nat_rule",
        {"kind": "dnat", "out_interface": "ens32", "to": "192.168.5.2"},
        "out_interface",
        "before routing",
    ),
    ("nat_rule", {"dport": 22.0}, "dport", "needs protocol"),
    ("firewall_rule", {"chain": "PREROUTING"}, "chain", "not one of"),
    ("firewall_rule", {"ctstate": ["ESTABLISHED", "GONE"]}, "ctstate", "states are"),
    ("firewall_rule", {"chain": "INPUT", "out_interface": "eth0"}, "out_interface", "no outgoing"),
    ("firewall_rule", {"source": "10.0.0.0/33"}, "source", "not an address or network"),
    ("routing_rule", {"priority": 32766.0}, "priority", "outside 1..32765"),
    ("routing_rule", {"priority": None}, "priority", "is required"),
    (
        "routing_rule",
        {"src": "192.168.6.2/24"},
        "src",
        "host bits set; the network is 192.168.6.0/24",
    ),
    ("routing_rule", {"dst": "fd00::/64"}, "dst", "one family"),
    ("routing_rule", {"table": None}, "table", "needs the table to look up"),
    ("routing_rule", {"action": "prohibit"}, "table", "looks up no table"),
    ("routing_rule", {"action": "goto"}, "action", "not one of"),
    ("routing_rule", {"iif": "x" * 16}, "iif", "at most 15"),
    ("routing_rule", {"fwmask": 255.0}, "fwmask", "needs the fwmark"),
    ("routing_rule", {"tos": 256.0}, "tos", "outside"),
    ("routing_rule", {"fwmark": 0.0}, "fwmark", "give the mask"),
    ("netns", {"name": "pid:12"}, "name", "plain name"),
    ("sysctl", {"key": "net/ipv4/../x"}, "key", "dotted sysctl name"),
    ("sysctl", {"value": True}, "value", "string or a number"),
]


def _inputs(kind_name: str, /, **overrides: Any) -> dict[str, Any]:
    merged = {"host": HOST, **VALID[kind_name], **overrides}
    return {k: v for k, v in merged.items() if v is not None}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_inputs_pass_and_make_a_readable_id(kind: str) -> None:
    inputs, failures = KINDS[kind].check(_inputs(kind))
    assert failures == []
    rid = KINDS[kind].make_id(inputs)
    parsed = parse_id(rid)
    assert (parsed.host, parsed.kind) == ("h1", kind)


@pytest.mark.parametrize(("kind", "change", "field", "reason"), REJECT)
def test_check_rejects(kind: str, change: dict[str, Any], field: str, reason: str) -> None:
    _, failures = KINDS[kind].check(_inputs(kind, **change))
    assert field in [f.field for f in failures], failures
    assert any(reason in f.reason for f in failures if f.field == field), failures


def test_normalises_wire_values() -> None:
    inputs, _ = KINDS["route"].check(_inputs("route", metric=100.0))
    assert inputs["dst"] == "192.168.6.3/32" and inputs["metric"] == 100
    assert isinstance(inputs["metric"], int)
    inputs, _ = KINDS["sysctl"].check(_inputs("sysctl"))
    assert inputs["value"] == "1"
    inputs, _ = KINDS["routing_rule"].check(_inputs("routing_rule", tos=0.0, priority=1002.0))
    assert "tos" not in inputs and inputs["priority"] == 1002 and inputs["src"] == "192.168.6.2/32"
    inputs, _ = KINDS["firewall_rule"].check(_inputs("firewall_rule"))
    assert inputs["ctstate"] == ["RELATED", "ESTABLISHED"]  # the order iptables-save prints


DIFFS = [
    ("veth", {"master": "bridge1"}, []),
    ("veth", {"peer_addresses": ["192.168.5.9/24"]}, []),
    ("veth", {"peer_netns": "test2.1"}, ["peer_netns"]),
    ("veth", {"name": "test1.1.eth9"}, ["name"]),
    ("netns_router", {"forwarding": False}, []),
    ("netns_router", {"routes": []}, []),
    ("netns_router", {"name": "testrt4"}, ["name"]),
    ("route", {"via": "10.32.171.204"}, []),
    ("route", {"metric": 5.0}, ["metric"]),
    ("route", {"table": 100.0}, ["table"]),
    ("route", {"dst": "192.168.6.4"}, ["dst"]),
    ("nat_rule", {"source": "192.168.6.0/24"}, []),
    ("nat_rule", {"position": 3.0}, ["position"]),
    ("firewall_rule", {"action": "DROP"}, []),
    ("firewall_rule", {"chain": "INPUT", "out_interface": None}, ["chain"]),
    ("routing_rule", {"table": 107.0}, []),
    ("routing_rule", {"src": "192.168.6.3"}, []),
    ("routing_rule", {"action": "unreachable", "table": None}, []),
    ("routing_rule", {"priority": 1003.0}, ["priority"]),
    ("routing_rule", {"netns": "test2.1"}, ["netns"]),
    ("netns", {"name": "red"}, ["name"]),
    ("sysctl", {"value": "0"}, []),
    ("sysctl", {"key": "net.ipv4.conf.all.forwarding"}, ["key"]),
    ("route", {"via": UNKNOWN}, []),
    ("route", {"dst": UNKNOWN}, ["dst"]),
]


@pytest.mark.parametrize(("kind", "change", "replaces"), DIFFS)
def test_diff_classifies(kind: str, change: dict[str, Any], replaces: list[str]) -> None:
    module = KINDS[kind]
    olds, failures = module.check(_inputs(kind))
    assert failures == []
    olds = {**olds, "resource_id": module.make_id(olds), "ifindex": 9}
    news, failures = module.check(_inputs(kind, **change))
    assert failures == []
    result = diff(policy=module.policy, olds=olds, news=news)
    assert result.changes is True
    assert result.replaces == replaces


@pytest.mark.parametrize("kind", sorted(VALID))
def test_no_change_is_no_diff(kind: str) -> None:
    module = KINDS[kind]
    olds, failures = module.check(_inputs(kind))
    assert failures == []
    outputs = {**olds, "resource_id": module.make_id(olds), "ifindex": 9, "mac": "aa:bb"}
    news, _ = module.check(_inputs(kind))
    assert diff(policy=module.policy, olds=outputs, news=news).changes is False
