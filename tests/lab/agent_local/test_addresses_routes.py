"""Addresses, routes, instance ownership of links and routes, and the uplink takeover."""

from __future__ import annotations

import pytest

from hostnet.agent.owner import FOREIGN
from hostnet.agent_client import Agent
from tests.lab.agent_local.localagent import OWNER, failure, in_ns, links_in

pytestmark = pytest.mark.lab


def test_addresses(agent: Agent, host: str) -> None:
    agent.call("link_ensure_bridge", ifname="hbr4", owner=OWNER)
    assert agent.call("addr_ensure", ifname="hbr4", address="192.168.5.1/24") == {"changed": True}
    assert agent.call("addr_ensure", ifname="hbr4", address="192.168.5.1/24") == {"changed": False}
    assert agent.call("addr_ensure", ifname="hbr4", address="fd00:5::1/64") == {"changed": True}
    listed = agent.call("addr_list", ifname="hbr4")
    assert {a["address"] for a in listed} == {"192.168.5.1/24", "fd00:5::1/64"}
    assert agent.call("link_read", ifname="hbr4")["addresses"] == ["192.168.5.1/24", "fd00:5::1/64"]
    replaced = agent.call(
        "addr_replace",
        ifname="hbr4",
        addresses=["192.168.5.2/24", "192.168.6.1/24"],
        keep=["fd00:5::1/64"],
    )
    assert replaced == {
        "added": ["192.168.5.2/24", "192.168.6.1/24"],
        "removed": ["192.168.5.1/24"],
    }
    # 192.168.5.2 took the primary 192.168.5.1's place (promote_secondaries, for the removal).
    shown = in_ns(host, "ip", "-o", "addr", "show", "dev", "hbr4").stdout
    assert "192.168.5.2/24" in shown and "192.168.6.1/24" in shown and "fd00:5::1/64" in shown
    assert agent.call("addr_delete", ifname="hbr4", address="192.168.6.1/24") == {"changed": True}
    assert agent.call("addr_delete", ifname="hbr4", address="192.168.6.1/24") == {"changed": False}
    assert agent.call("addr_delete", ifname="nosuch0", address="192.168.6.1/24") == {
        "changed": False
    }
    assert (
        failure(agent, "addr_ensure", ifname="hbr4", address="192.168.5.300/24").kind == "Invalid"
    )
    agent.call("link_delete", ifname="hbr4", owner=OWNER)


@pytest.mark.parametrize("promote", ["0", "1"])
def test_address_moving_within_its_subnet_keeps_the_routes_through_the_link(
    agent: Agent, host: str, promote: str
) -> None:
    """Without promote_secondaries the kernel drops a primary's secondaries with
    it and, with a link's last address, every route through the link."""
    in_ns(host, "ip", "link", "add", "hpr0", "type", "veth", "peer", "name", "hpr1")
    try:
        in_ns(host, "ip", "link", "set", "hpr0", "up")
        in_ns(host, "ip", "link", "set", "hpr1", "up")
        key = "net.ipv4.conf.hpr0.promote_secondaries"
        in_ns(host, "sysctl", "-qw", f"{key}={promote}")
        agent.call("addr_replace", ifname="hpr0", addresses=["10.58.0.2/24"])
        in_ns(host, "ip", "route", "add", "10.59.0.0/16", "via", "10.58.0.1")
        replaced = agent.call("addr_replace", ifname="hpr0", addresses=["10.58.0.3/24"])
        assert replaced == {"added": ["10.58.0.3/24"], "removed": ["10.58.0.2/24"]}
        assert "10.59.0.0/16 via 10.58.0.1 dev hpr0" in in_ns(host, "ip", "route").stdout
        assert in_ns(host, "sysctl", "-n", key).stdout.strip() == promote
        # Into another subnet: nothing to promote, the setting is not touched.
        agent.call("addr_replace", ifname="hpr0", addresses=["10.60.0.3/24"])
        assert in_ns(host, "sysctl", "-n", key).stdout.strip() == promote
    finally:
        in_ns(host, "ip", "link", "del", "hpr0")


def test_instance_owners_take_over_refuse_and_adopt(agent: Agent, host: str) -> None:
    """The claim rule on real links and routes: a renamed or replaced resource of the
    same stack takes the object over, another stack is refused by name unless it
    adopts, and a delete removes only its own."""
    first = {"stack": "seed/lab", "resource": "br", "token": "000000000001"}
    renamed = {"stack": "seed/lab", "resource": "br-new", "token": "000000000002"}
    other = {"stack": "seed/prod", "resource": "br", "token": "000000000003"}
    agent.call("link_ensure_bridge", ifname="ibr0", owner=first)
    index = agent.call("link_read", ifname="ibr0")["ifindex"]
    taken = agent.call("link_ensure_bridge", ifname="ibr0", owner=renamed)
    assert taken["ifindex"] == index and taken["owner"] == renamed
    assert any(": ibr0:" in line for line in links_in(host))
    assert agent.call("link_delete", ifname="ibr0", owner=first) == {
        "deleted": False,
        "kept": "stack 'seed/lab', resource 'br-new'",
    }
    refused = failure(agent, "link_ensure_bridge", ifname="ibr0", owner=other)
    assert refused.kind == "NotOwned"
    assert "stack 'seed/lab', resource 'br-new'" in refused.message
    assert "adopt=True" in refused.message
    adopted = agent.call("link_ensure_bridge", ifname="ibr0", owner=other, adopt=True)
    assert adopted["ifindex"] == index and adopted["owner"] == other
    assert agent.call("link_delete", ifname="ibr0", owner=other) == {"deleted": True}
    # Routes carry their owner in a record under the run dir.
    agent.call("link_ensure_bridge", ifname="ibr1", owner=first)
    agent.call("link_set", ifname="ibr1", owner=first, up=True)
    route = {"dst": "10.53.0.0/16", "dev": "ibr1"}
    agent.call("route_ensure", **route, owner=first)
    assert agent.call("route_ensure", **route, owner=renamed)["owner"] == renamed
    assert agent.call("route_read", dst="10.53.0.0/16")["owner"] == renamed
    assert failure(agent, "route_ensure", **route, owner=other).kind == "NotOwned"
    assert agent.call("route_delete", dst="10.53.0.0/16", owner=first)["deleted"] is False
    assert agent.call("route_delete", dst="10.53.0.0/16", owner=renamed) == {"deleted": True}
    # A mark written before instance ownership moves to the instance asking with it.
    in_ns(host, "ip", "link", "set", "ibr1", "alias", "hostnet:h1/bridge/ibr1")
    assert failure(agent, "link_ensure_bridge", ifname="ibr1", owner=first).kind == "NotOwned"
    moved = agent.call("link_ensure_bridge", ifname="ibr1", owner=first, legacy="h1/bridge/ibr1")
    assert moved["owner"] == first
    agent.call("link_delete", ifname="ibr1", owner=first)


def test_routes(agent: Agent, host: str) -> None:
    agent.call("link_ensure_bridge", ifname="hbr5", owner=OWNER)
    agent.call("link_set", ifname="hbr5", owner=OWNER, up=True)
    agent.call("addr_ensure", ifname="hbr5", address="192.168.8.1/24")
    agent.call("addr_ensure", ifname="hbr5", address="fd00:8::1/64")
    first = agent.call("route_ensure", dst="10.50.0.0/16", via="192.168.8.254", owner=OWNER)
    again = agent.call("route_ensure", dst="10.50.0.0/16", via="192.168.8.254", owner=OWNER)
    assert first.pop("created") is True and again.pop("created") is False
    assert first == again and first["proto"] == 77 and first["dev"] == "hbr5"
    assert first["owner"] == {"id": OWNER}
    moved = agent.call(
        "route_ensure", dst="10.50.0.0/16", via="192.168.8.253", src="192.168.8.1", owner=OWNER
    )
    assert moved["via"] == "192.168.8.253" and moved["src"] == "192.168.8.1"
    shown = in_ns(host, "ip", "route", "show", "10.50.0.0/16").stdout.strip()
    assert shown == "10.50.0.0/16 via 192.168.8.253 dev hbr5 proto 77 src 192.168.8.1"
    link = agent.call(
        "route_ensure", dst="10.51.0.0/16", dev="hbr5", metric=10, table=100, owner=OWNER
    )
    del link["created"]
    assert link["scope"] == "link" and link["table"] == 100 and link["metric"] == 10
    assert agent.call("route_read", dst="10.51.0.0/16", table=100) is None  # metric 0
    assert agent.call("route_read", dst="10.51.0.0/16", table=100, metric=10) == link
    six = agent.call("route_ensure", dst="default", via="fd00:8::fe", owner=OWNER)
    assert six["family"] == 6 and six["metric"] == 1024 and six["dst"] == "default"
    four = agent.call("route_ensure", dst="default", via="192.168.8.254", metric=5, owner=OWNER)
    assert four["family"] == 4
    listed = agent.call("route_list")
    assert {(r["dst"], r["family"]) for r in listed} >= {("10.50.0.0/16", 4), ("default", 6)}
    assert any(r["proto"] != 77 for r in listed)  # the kernel's connected routes are shown too
    # A route hostnet did not make is refused and left alone.
    in_ns(host, "ip", "route", "add", "10.52.0.0/16", "via", "192.168.8.254", "proto", "static")
    error = failure(agent, "route_ensure", dst="10.52.0.0/16", via="192.168.8.253", owner=OWNER)
    assert error.kind == "NotOwned"
    kept = agent.call("route_delete", dst="10.52.0.0/16", owner=OWNER)
    assert kept == {"deleted": False, "kept": FOREIGN}
    assert "via 192.168.8.254" in in_ns(host, "ip", "route", "show", "10.52.0.0/16").stdout
    in_ns(host, "ip", "route", "del", "10.52.0.0/16")
    for args in (
        {"dst": "10.50.0.0/16"},
        {"dst": "10.51.0.0/16", "table": 100, "metric": 10},
        {"dst": "default", "family": 6},
        {"dst": "default", "metric": 5},
    ):
        assert agent.call("route_delete", **args, owner=OWNER) == {"deleted": True}, args
        assert agent.call("route_delete", **args, owner=OWNER) == {"deleted": False}, args
    error = failure(agent, "route_ensure", dst="10.50.0.1/16", via="192.168.8.1", owner=OWNER)
    assert error.kind == "Invalid"
    agent.call("link_delete", ifname="hbr5", owner=OWNER)


def test_uplink_takeover_and_release(agent: Agent, host: str, child: str) -> None:
    in_ns(host, "ip", "link", "add", "hnu0", "type", "veth", "peer", "name", "hnu1", "netns", child)
    in_ns(host, "ip", "addr", "add", "192.168.79.1/24", "dev", "hnu0")
    in_ns(host, "ip", "link", "set", "hnu0", "up")
    in_ns(child, "ip", "addr", "add", "192.168.79.2/24", "dev", "hnu1")
    in_ns(child, "ip", "link", "set", "hnu1", "up")
    in_ns(host, "ip", "route", "add", "10.79.0.0/16", "via", "192.168.79.2", "metric", "5")
    mac = agent.call("link_read", ifname="hnu0")["mac"]
    try:
        agent.call("link_ensure_bridge", ifname="hbu0", owner=OWNER)
        takeover = {"bridge": "hbu0", "nic": "hnu0", "owner": OWNER}
        taken = agent.call("uplink_takeover", **takeover)
        assert taken == {
            "changed": True,
            "addresses": ["192.168.79.1/24"],
            "routes": ["10.79.0.0/16 via 192.168.79.2"],
        }
        assert agent.call("uplink_takeover", **takeover)["changed"] is False
        bridge = agent.call("link_read", ifname="hbu0")
        assert bridge["mac"] == mac and bridge["up"] and bridge["addresses"] == ["192.168.79.1/24"]
        nic = agent.call("link_read", ifname="hnu0")
        assert nic["master"] == "hbu0" and nic["addresses"] == []
        route = in_ns(host, "ip", "route", "show", "10.79.0.0/16").stdout.strip()
        assert route == "10.79.0.0/16 via 192.168.79.2 dev hbu0 metric 5"
        assert agent.call("probe", kind="ping", address="192.168.79.2")["ok"]
        released = agent.call("uplink_release", **takeover)
        assert released["deleted"] is True and released["routes"] == taken["routes"]
        assert released["nic"]["master"] is None
        assert released["nic"]["addresses"] == ["192.168.79.1/24"]
        route = in_ns(host, "ip", "route", "show", "10.79.0.0/16").stdout.strip()
        assert route == "10.79.0.0/16 via 192.168.79.2 dev hnu0 metric 5"
        assert agent.call("link_read", ifname="hbu0") is None
        assert agent.call("probe", kind="ping", address="192.168.79.2")["ok"]
    finally:
        in_ns(host, "ip", "link", "del", "hnu0", check=False)
        in_ns(host, "ip", "link", "del", "hbu0", check=False)
