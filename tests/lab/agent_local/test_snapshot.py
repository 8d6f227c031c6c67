"""The ``snapshot`` op against the read ops, on real kernel objects: every read the
controller answers from a snapshot (hostnet.agent.select.answer) is the answer
the agent gives to the op itself, on every kind of host (the
controller's Python, a 3.8 host, a 3.6 host in old-kernel mode, whose policy
rules carry no protocol; tests/lab/agent_local/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hostnet.agent import select
from hostnet.agent_client import Agent
from tests.lab.agent_local.localagent import OWNER, PREFIX

pytestmark = pytest.mark.lab

SUBNET_KEY = "net.ipv4.conf.all.forwarding"


def _build(agent: Agent, child: str) -> None:
    """One of each object a read op reports, hostnet's and not."""
    agent.call("link_ensure_bridge", ifname="sbr0", owner=OWNER)
    agent.call("link_set", ifname="sbr0", owner=OWNER, up=True)
    agent.call("addr_ensure", ifname="sbr0", address="192.168.9.1/24")
    agent.call("addr_ensure", ifname="sbr0", address="fd00:9::1/64")
    agent.call("route_ensure", dst="10.60.0.0/16", via="192.168.9.254", owner=OWNER)
    agent.call("route_ensure", dst="10.61.0.0/16", dev="sbr0", table=100, metric=10, owner=OWNER)
    agent.call("route_ensure", dst="::/0", via="fd00:9::fe", owner=OWNER)
    agent.call("route_ensure", dst="default", via="192.168.9.254", table=100, owner=OWNER)
    agent.call("rule_ensure", priority=1500, src="192.168.9.0/24", table=100, owner=OWNER, family=4)
    agent.call("link_ensure_vxlan", ifname="svx0", vni=77, local="192.168.9.1", owner=OWNER)
    agent.call("fdb_ensure", ifname="svx0", dst="192.0.2.7", owner=OWNER)
    agent.call("netns_ensure", name=f"{PREFIX}-s", owner=OWNER)
    agent.call("ipt_ensure_chain", table="filter", chain="HOSTNETSNAP", parent="FORWARD")
    agent.call(
        "ipt_ensure_rule",
        table="filter",
        chain="HOSTNETSNAP",
        rule=["-i", "sbr0", "-j", "ACCEPT"],
        owner=OWNER,
    )
    agent.call("sysctl_write", netns=child, key=SUBNET_KEY, value="1", owner=OWNER)


def _tear_down(agent: Agent, child: str) -> None:
    agent.call("sysctl_restore", netns=child, key=SUBNET_KEY, owner=OWNER)
    agent.call("ipt_delete_rule", table="filter", chain="HOSTNETSNAP", owner=OWNER)
    agent.call("ipt_delete_chain", table="filter", chain="HOSTNETSNAP", parent="FORWARD")
    agent.call("netns_delete", name=f"{PREFIX}-s", owner=OWNER)
    agent.call("rule_delete", priority=1500, family=4, owner=OWNER)
    for args in (
        {"dst": "10.60.0.0/16"},
        {"dst": "10.61.0.0/16", "table": 100, "metric": 10},
        {"dst": "::/0"},
        {"dst": "default", "table": 100},
    ):
        assert agent.call("route_delete", **args, owner=OWNER)["deleted"] is True, args
    agent.call("link_delete", ifname="svx0", owner=OWNER)
    agent.call("link_delete", ifname="sbr0", owner=OWNER)


def _reads(child: str) -> list[tuple[str, dict[str, Any]]]:
    here: list[tuple[str, dict[str, Any]]] = [
        ("link_read", {"ifname": "sbr0"}),
        ("link_read", {"ifname": "svx0"}),
        ("link_read", {"ifname": "lo"}),
        ("link_read", {"ifname": "nothere"}),
        ("link_list", {}),
        ("route_read", {"dst": "10.60.0.0/16"}),
        ("route_read", {"dst": "10.61.0.0/16", "table": 100}),
        ("route_read", {"dst": "10.61.0.0/16", "table": 100, "metric": 10}),
        ("route_read", {"dst": "::/0"}),
        ("route_read", {"dst": "default", "family": 6}),
        ("route_read", {"dst": "default"}),
        ("route_read", {"dst": "0.0.0.0/0", "table": 100}),
        ("route_read", {"dst": "192.168.9.0/24"}),
        ("route_read", {"dst": "fd00:9::/64"}),
        ("route_list", {}),
        ("route_list", {"table": 0}),
        ("route_list", {"table": 100}),
        ("rule_read", {"priority": 1500}),
        ("rule_read", {"priority": 1500, "family": 6}),
        ("rule_read", {"priority": 1501}),
        ("rule_list", {}),
        ("fdb_list", {"ifname": "svx0"}),
        ("fdb_list", {"ifname": "nothere"}),
        ("netns_read", {"name": f"{PREFIX}-s"}),
        ("netns_read", {"name": f"{PREFIX}-gone"}),
        ("netns_list", {}),
        ("sysctl_read", {"key": "net.ipv4.ip_forward"}),
        ("sysctl_read_owned", {"key": "net.ipv4.ip_forward"}),
        ("ipt_read_rules", {"table": "filter"}),
        ("ipt_read_rules", {"table": "filter", "chain": "HOSTNETSNAP"}),
        ("ipt_read_rules", {"table": "nat"}),
        ("ipt_read_chain", {"table": "filter", "chain": "HOSTNETSNAP", "parent": "FORWARD"}),
        ("ipt_read_chain", {"table": "nat", "chain": "HOSTNETNONE", "parent": "POSTROUTING"}),
    ]
    inside: list[tuple[str, dict[str, Any]]] = [
        ("link_list", {"netns": child}),
        ("link_read", {"netns": child, "ifname": "lo"}),
        ("route_list", {"netns": child, "table": 0}),
        ("rule_list", {"netns": child}),
        ("sysctl_read_owned", {"netns": child, "key": SUBNET_KEY}),
        ("sysctl_read", {"netns": child, "key": SUBNET_KEY}),
        ("ipt_read_rules", {"netns": child, "table": "filter"}),
    ]
    gone = f"{PREFIX}-gone"
    elsewhere: list[tuple[str, dict[str, Any]]] = [
        ("link_read", {"netns": gone, "ifname": "lo"}),
        ("route_read", {"netns": gone, "dst": "default"}),
        ("ipt_read_chain", {"netns": gone, "table": "nat", "chain": "HOSTNETX", "parent": "INPUT"}),
    ]
    return here + inside + elsewhere


def test_every_read_served_from_a_snapshot_is_the_agents_own_answer(
    agent: Agent, child: str
) -> None:
    _build(agent, child)
    try:
        snapshots: dict[str | None, Any] = {}
        answered = 0
        for op, args in _reads(child):
            ref = args.get("netns")
            if ref not in snapshots:
                snapshots[ref] = agent.call("snapshot", netns=ref)
            try:
                served = select.answer(snapshots[ref], op, args)
            except select.Miss:
                continue
            answered += 1
            assert served == agent.call(op, **args), (op, args)
        # Every read above is one a snapshot holds.
        assert answered == len(_reads(child))
        assert snapshots[f"{PREFIX}-gone"] is None
        host_net = snapshots[None]["net"]
        assert {r["owner"]["id"] for r in host_net["routes"] if r["owner"]} == {OWNER}
    finally:
        _tear_down(agent, child)


def test_a_default_routes_older_record_still_names_its_owner(agent: Agent, run_dir: Path) -> None:
    """Agents before the snapshot kept the owner of a default route written as
    0.0.0.0/0 under that name; it is still found, and the next ensure moves it."""
    agent.call("link_ensure_bridge", ifname="sbr1", owner=OWNER)
    agent.call("link_set", ifname="sbr1", owner=OWNER, up=True)
    agent.call("addr_ensure", ifname="sbr1", address="192.168.10.1/24")
    try:
        agent.call("route_ensure", dst="0.0.0.0/0", via="192.168.10.254", metric=7, owner=OWNER)
        (record,) = run_dir.glob("routes/*/4-default-0-254-7")
        record.rename(record.with_name("4-0.0.0.0-0-254-7"))
        assert agent.call("route_read", dst="0.0.0.0/0", metric=7)["owner"] == {"id": OWNER}
        assert agent.call("route_read", dst="default", metric=7)["owner"] == {"id": OWNER}
        owners = [r["owner"] for r in agent.call("snapshot")["net"]["routes"] if r["metric"] == 7]
        assert owners == [{"id": OWNER}]
        agent.call("route_ensure", dst="default", via="192.168.10.254", metric=7, owner=OWNER)
        assert [p.name for p in run_dir.glob("routes/*/4-*-0-254-7")] == ["4-default-0-254-7"]
        assert agent.call("route_delete", dst="default", metric=7, owner=OWNER)["deleted"] is True
        assert not list(run_dir.glob("routes/*/4-*-0-254-7"))
    finally:
        agent.call("link_delete", ifname="sbr1", owner=OWNER)
