"""The agent's own route and rule netlink (agent/rtroute.py) against pyroute2's, on
the same kernel objects in a scratch namespace: every field hostnet reads is the
same, read either way, and what one writes the other reads back as written.

Runs in the controller's Python only (pyroute2 0.9); the op suite in this folder
covers the route and rule ops on every kind of host.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pyroute2 import IPRoute

from hostnet.agent import routes, rtroute, rules
from hostnet.agent.hostcaps import netlink_socket_in
from hostnet.agent.rtnl import Rtnl
from tests.lab.agent_local.localagent import in_ns, sh

FAMILIES = (socket.AF_INET, socket.AF_INET6)
SETUP = [
    "link add d0 type veth peer name d1",  # no dummy module on every kernel
    "link set d0 up",
    "link set d1 up",
    "addr add 10.9.0.1/24 dev d0",
    "addr add fd00::1/64 dev d0 nodad",
    "route add 10.10.0.0/16 via 10.9.0.254 dev d0 metric 5 table 100",
    "route add 10.11.0.0/24 dev d0 scope link",
    "route add default via 10.9.0.254 table 5000",
    "route add blackhole 10.12.0.0/16 proto 77",
    "route add 10.13.0.0/24 via 10.9.0.254 dev d0 onlink src 10.9.0.1",
    "route add unreachable 10.14.0.0/16 table 100",
    "-6 route add fd01::/64 via fd00::fe metric 100",
    "-6 route add default via fd00::fe dev d0 table 300",
    "rule add from 10.9.0.0/24 lookup 100 pref 1100",
    "rule add to 10.20.0.0/16 iif d0 lookup 5000 pref 1200 protocol 77",
    "rule add fwmark 0x10/0xff lookup 100 pref 1300",
    "rule add tos 0x10 oif d1 prohibit pref 1400",
    "-6 rule add from fd00::/64 lookup 300 pref 1500",
]


@pytest.fixture(scope="module")
def sockets() -> Iterator[tuple[Rtnl, Any]]:
    if os.geteuid() != 0:
        pytest.fail("needs root (network namespaces)", pytrace=False)
    name = f"hn-rtr-{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", name)
    try:
        for line in SETUP:
            in_ns(name, "ip", *line.split())
        path = f"/run/netns/{name}"
        fd = netlink_socket_in(path)
        rt = Rtnl(fd, ext_ack=True, strict=True)
        os.close(fd)
        ipr = IPRoute(fileno=netlink_socket_in(path), strict_check=True)
        yield rt, ipr
        rt.close()
        ipr.close()
    finally:
        sh("ip", "netns", "del", name, check=False)


def _names(ipr: Any) -> dict[int, str]:
    return {m["index"]: m.get("IFLA_IFNAME") for m in ipr.get_links()}


def _route_views(msgs: list[Any], names: dict[int, str]) -> list[dict[str, Any]]:
    return sorted((routes.view(m, names) for m in msgs), key=repr)


def test_route_dumps_read_the_same(sockets: tuple[Rtnl, Any]) -> None:
    rt, ipr = sockets
    names = _names(ipr)
    for family in FAMILIES:
        ours = _route_views(rtroute.route_dump(rt, family=family), names)
        theirs = _route_views(list(ipr.route("dump", family=family)), names)
        assert ours == theirs
        assert len(ours) >= 5


@pytest.mark.parametrize(("family", "table"), [(socket.AF_INET, 100), (socket.AF_INET, 5000),
                                               (socket.AF_INET6, 300)])  # fmt: skip
def test_a_table_dump_is_that_table_only(
    sockets: tuple[Rtnl, Any], family: int, table: int
) -> None:
    rt, ipr = sockets
    names = _names(ipr)
    ours = _route_views(rtroute.route_dump(rt, family=family, table=table), names)
    theirs = _route_views(list(ipr.route("dump", family=family, table=table)), names)
    assert ours == theirs
    assert ours and {r["table"] for r in ours} == {table}


def test_a_fib_match_lookup_reads_the_same(sockets: tuple[Rtnl, Any]) -> None:
    rt, ipr = sockets
    names = _names(ipr)
    for family, dst in ((socket.AF_INET, "10.11.0.9"), (socket.AF_INET6, "fd01::9")):
        ours = rtroute.route_get(rt, family=family, dst=dst, flags=routes.RTM_F_FIB_MATCH)
        theirs = list(ipr.route("get", family=family, dst=dst, flags=routes.RTM_F_FIB_MATCH))
        assert _route_views(ours, names) == _route_views(theirs, names)
        assert len(ours) == 1


def test_rule_dumps_read_the_same(sockets: tuple[Rtnl, Any]) -> None:
    rt, ipr = sockets
    read: dict[int, list[dict[str, Any]]] = {}
    for family in FAMILIES:
        read[family] = [rules.view(m) for m in rtroute.rule_dump(rt, family=family)]
        assert read[family] == [rules.view(m) for m in ipr.get_rules(family=family)]
    by_priority = {r["priority"]: r for r in read[socket.AF_INET]}
    assert by_priority[1200]["protocol"] == 77 and by_priority[1200]["iif"] == "d0"
    assert by_priority[1300]["fwmark"] == 0x10 and by_priority[1300]["fwmask"] == 0xFF
    assert by_priority[1400]["action"] == "prohibit" and by_priority[1400]["oif"] == "d1"
    assert [r["src"] for r in read[socket.AF_INET6] if r["priority"] == 1500] == ["fd00::/64"]


def test_what_one_writes_the_other_reads(sockets: tuple[Rtnl, Any]) -> None:
    """A route and a rule written here read back by pyroute2 as pyroute2 writes them."""
    rt, ipr = sockets
    names = _names(ipr)
    d0 = next(index for index, name in names.items() if name == "d0")
    route = {"family": socket.AF_INET, "dst_len": 24, "table": 7000, "priority": 9,
             "proto": 77, "scope": 0, "type": 1, "flags": 0, "gateway": "10.9.0.254",
             "prefsrc": "10.9.0.1", "oif": d0}  # fmt: skip
    rtroute.route(rt, "add", {**route, "dst": "10.30.0.0"})
    ipr.route("add", **{**route, "dst": "10.31.0.0"})
    written = _route_views(list(ipr.route("dump", family=socket.AF_INET, table=7000)), names)
    assert [r["dst"] for r in written] == ["10.30.0.0/24", "10.31.0.0/24"]
    assert {**written[0], "dst": None} == {**written[1], "dst": None}
    with pytest.raises(OSError) as raised:
        rtroute.route(rt, "add", {**route, "dst": "10.31.0.0"})
    assert raised.value.errno == 17  # EEXIST, as pyroute2's NetlinkError code
    rtroute.route(rt, "del", {**route, "dst": "10.30.0.0"})
    ipr.route("del", **{**route, "dst": "10.31.0.0"})
    assert rtroute.route_dump(rt, family=socket.AF_INET, table=7000) == []

    rule = {"family": socket.AF_INET, "priority": 1700, "action": 1, "table": 7000,
            "src": "10.40.0.0", "src_len": 16, "iifname": "d1", "fwmark": 3,
            "fwmask": 0xFFFFFFFF, "protocol": 77}  # fmt: skip
    rtroute.rule(rt, "add", rule)
    ipr.rule("add", **{**rule, "priority": 1701})
    at = [rules.view(m) for m in ipr.get_rules(family=socket.AF_INET)]
    mine, theirs = ([{**r, "priority": 0} for r in at if r["priority"] == p] for p in (1700, 1701))
    assert mine == theirs and len(mine) == 1
    rtroute.rule(rt, "del", rule)
    rtroute.rule(rt, "del", {**rule, "priority": 1701})
    left = [r for r in rtroute.rule_dump(rt, family=socket.AF_INET) if r.get("FRA_TABLE") == 7000]
    assert left == []
