"""hostnet.agent.select: the one answer of each read op, whether the agent reads
the host for it or the controller serves it from a namespace's snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet.agent import select
from hostnet.agent.iptables import table_view
from hostnet.agent.iptsave import parse
from hostnet.agent.ops import OPS

OWNER = {"stack": "p/s", "resource": "r", "token": "0123456789ab"}


def _route(dst: str, *, family: int = 4, table: int = 254, metric: int = 0, **more: Any) -> Any:
    return {"dst": dst, "family": family, "table": table, "metric": metric, "owner": None, **more}


ROUTES = [
    _route("default", via="10.0.0.1"),
    _route("10.1.0.0/16", owner=OWNER),
    _route("default", table=110, via="10.0.0.254"),
    _route("10.0.0.1", table=255),
    _route("fd00::/64", family=6, metric=1024),
    _route("default", family=6, metric=1024),
]
RULES = [
    {"priority": 0, "family": 4, "protocol": 2, "owner": None, "ours": False},
    {"priority": 1010, "family": 4, "protocol": 77, "owner": OWNER, "ours": True},
    {"priority": 1010, "family": 6, "protocol": 2, "owner": None, "ours": False},
]
LINKS = [
    {"ifindex": 1, "ifname": "lo", "kind": "device", "owner": None, "addresses": []},
    {"ifindex": 7, "ifname": "vx0", "kind": "vxlan", "owner": OWNER, "addresses": ["10.9.0.1/24"]},
    {"ifindex": 5, "ifname": "br0", "kind": "bridge", "owner": None, "addresses": ["10.0.0.1/24"]},
]
NET = {
    "links": LINKS,
    "routes": ROUTES,
    "ip_rules": RULES,
    "fdb": {"vx0": [{"mac": "00:00:00:00:00:00", "dst": "192.0.2.2", "permanent": True}]},
}
SAVE = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:HOSTNETFWD - [0:0]
-A FORWARD -i eth9 -j REJECT
-A FORWARD -j HOSTNETFWD
-A HOSTNETFWD -i br0 -m comment --comment "hostnet:p/s/r#0123456789ab prio=10" -j ACCEPT
-A HOSTNETFWD -o br0 -j ACCEPT
COMMIT
"""
EXTRA = {
    "iptables": {"filter": table_view(parse(SAVE))},
    "sysctl": {"net.ipv4.ip_forward": "1", "net.ipv4.conf.x.forwarding": None},
    "sysctl_owners": {"net.ipv4.ip_forward": OWNER},
    "netns": [{"name": "blue", "owner": OWNER}],
}
SNAPSHOT = {"net": NET, "extra": EXTRA}


def _answer(op: str, **args: Any) -> Any:
    return select.answer(SNAPSHOT, op, args)


def test_every_served_op_is_a_read_with_the_agents_argument_names() -> None:
    assert set(select.PART) == set(select.KEYS)
    for op, keys in select.KEYS.items():
        assert not OPS[op].mutating, op
        assert OPS[op].keys == frozenset(keys), op


def test_route_identity_as_the_agent_names_routes() -> None:
    assert select.route_identity(dst="default", family=None, hints=[], table=254, metric=None) == (
        4,
        None,
        0,
        254,
        0,
    )
    six = select.route_identity(dst="default", family=None, hints=["fd00::1"], table=5, metric=None)
    assert six == (6, None, 0, 5, 1024)
    assert select.route_identity(dst="10.1.2.0/24", family=None, hints=[], table=254, metric=7) == (
        4,
        "10.1.2.0",
        24,
        254,
        7,
    )
    # 0.0.0.0/0 and ::/0 are the default route, whatever the spelling.
    for zero, family in (("0.0.0.0/0", 4), ("::/0", 6)):
        found = select.route_identity(dst=zero, family=None, hints=[], table=254, metric=None)
        assert found[:3] == (family, None, 0)
    with pytest.raises(ValueError, match="is not 'default' or a network"):
        select.route_identity(dst="10.1.2.3/24", family=None, hints=[], table=254, metric=None)


def test_route_read_and_list() -> None:
    assert _answer("route_read", dst="10.1.0.0/16")["owner"] == OWNER
    assert _answer("route_read", dst="default", table=110)["via"] == "10.0.0.254"
    assert _answer("route_read", dst="default", family=6)["family"] == 6
    assert _answer("route_read", dst="fd00::/64")["metric"] == 1024
    assert _answer("route_read", dst="::/0")["family"] == 6
    assert _answer("route_read", dst="10.1.0.0/16", metric=5) is None
    main = _answer("route_list")
    assert [r["dst"] for r in main] == ["default", "10.1.0.0/16", "fd00::/64", "default"]
    assert all("owner" not in r for r in main)
    assert [r["table"] for r in _answer("route_list", table=0)] == [254, 254, 110, 254, 254]


def test_rule_read_takes_hostnets_rule_only() -> None:
    found = _answer("rule_read", priority=1010)
    assert found == {"priority": 1010, "family": 4, "protocol": 77, "owner": OWNER}
    assert _answer("rule_read", priority=1010, family=6) is None
    assert _answer("rule_read", priority=1011) is None
    assert all(set(r) == {"priority", "family", "protocol"} for r in _answer("rule_list"))


def test_links_and_fdb() -> None:
    assert _answer("link_read", ifname="br0") == LINKS[2]
    assert _answer("link_read", ifname="nope") is None
    assert _answer("link_list") == LINKS
    assert _answer("fdb_list", ifname="vx0") == {"owner": OWNER, "entries": NET["fdb"]["vx0"]}
    assert _answer("fdb_list", ifname="nope") is None
    with pytest.raises(select.Miss):
        _answer("fdb_list", ifname="br0")  # not a vxlan link: no entries were read


def test_iptables_answers_from_a_saved_table() -> None:
    rules = _answer("ipt_read_rules", table="filter")
    assert rules == [
        {
            "table": "filter",
            "chain": "HOSTNETFWD",
            "rule": ["-i", "br0", "-j", "ACCEPT"],
            "owner": OWNER,
            "position": 1,
        }
    ]
    assert _answer("ipt_read_rules", table="filter", chain="FORWARD") == []
    assert _answer("ipt_read_rules", table="nat") == []
    reach = _answer("ipt_read_chain", table="filter", chain="HOSTNETFWD", parent="FORWARD")
    assert reach == {"exists": True, "jump": 2, "jumps": 1, "shadowed": False}
    shadowed = SAVE.replace("-A FORWARD -i eth9 -j REJECT", "-A FORWARD -j DROP")
    found = select.ipt_read_chain(
        {"iptables": {"filter": table_view(parse(shadowed))}},
        table="filter",
        chain="HOSTNETFWD",
        parent="FORWARD",
    )
    assert found["shadowed"] is True
    gone = _answer("ipt_read_chain", table="filter", chain="HOSTNETNAT", parent="FORWARD")
    assert gone == {"exists": False, "jump": None, "jumps": 0, "shadowed": False}
    with pytest.raises(select.Miss):
        select.answer({"extra": {**EXTRA, "iptables": None}}, "ipt_read_rules", {"table": "nat"})


def test_sysctls_and_namespaces() -> None:
    assert _answer("sysctl_read", key="net.ipv4.ip_forward") == "1"
    assert _answer("sysctl_read_owned", key="net.ipv4.ip_forward") == {"value": "1", "owner": OWNER}
    assert _answer("sysctl_read_owned", key="net.ipv4.conf.x.forwarding") is None
    with pytest.raises(select.Miss):
        _answer("sysctl_read", key="net.ipv4.tcp_syncookies")  # not read
    assert _answer("netns_read", name="blue") == {"name": "blue", "owner": OWNER}
    assert _answer("netns_read", name="red") is None
    assert _answer("netns_list") == EXTRA["netns"]
    with pytest.raises(select.Miss):
        select.answer({"extra": {**EXTRA, "netns": None}}, "netns_read", {"name": "blue"})


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("link_read", {"ifname": "bad name"}),
        ("link_read", {"ifname": "br0", "extra": 1}),
        ("link_read", {}),
        ("route_read", {"dst": "10.1.2.3/24"}),
        ("route_read", {"dst": "default", "table": 0}),
        ("rule_read", {"priority": 1010, "family": 5}),
        ("rule_read", {}),
        ("sysctl_read", {"key": "net..x"}),
        ("ipt_read_rules", {"table": "nope"}),
        ("ipt_read_chain", {"table": "filter", "chain": "MINE", "parent": "FORWARD"}),
        ("netns_read", {"name": "../x"}),
        ("route_get", {"dst": "10.0.0.1"}),
    ],
)
def test_what_the_agent_would_refuse_or_no_snapshot_holds_is_a_miss(
    op: str, args: dict[str, Any]
) -> None:
    with pytest.raises(select.Miss):
        select.answer(SNAPSHOT, op, args)


def test_a_namespace_that_is_gone() -> None:
    for op, args in [
        ("link_read", {"ifname": "x"}),
        ("route_read", {"dst": "default"}),
        ("rule_read", {"priority": 5}),
        ("fdb_list", {"ifname": "x"}),
        ("sysctl_read_owned", {"key": "a.b"}),
        ("ipt_read_chain", {"table": "nat", "chain": "HOSTNETNAT", "parent": "POSTROUTING"}),
    ]:
        assert select.answer(None, op, args) is None, op
    for op in ("link_list", "route_list", "rule_list"):
        with pytest.raises(select.Miss):
            select.answer(None, op, {})  # the agent fails there: it says how


def test_a_part_not_fetched_is_a_miss() -> None:
    with pytest.raises(select.Miss):
        select.answer({"net": NET}, "sysctl_read", {"key": "net.ipv4.ip_forward"})
