"""The fake host itself: it answers as the agent's protocol says, and the kernel's
reactions the kinds rely on happen in the model."""

from __future__ import annotations

import errno
from typing import Any

import pytest

from hostnet import errors
from hostnet.agent import select
from hostnet.agent.args import Args
from hostnet.agent.errors import Busy
from hostnet.protocol import Op
from tests.unit.kinds import lifecycle as kinds
from tests.unit.kinds.cases import CASES

from . import OWN, FakeAgent, Host
from .agent import UNMODELLED
from .snapshot import snapshot

OWNER = {"stack": "proj/dev", "resource": "br", "token": "0123456789ab"}


def _agent() -> FakeAgent:
    host = Host()
    host.add_nic("ens32", addresses=["10.32.171.202/24"], gateway="10.32.171.1")
    return FakeAgent(host)


def test_every_op_of_the_agents_table_is_modelled_but_host_facts_probes_and_guards() -> None:
    assert {
        "info",
        "dump",
        "dump_all",
        "probe",
        "netns_resolve",
        "guard_arm",
        "guard_disarm",
        "guard_list",
    } == UNMODELLED


def test_an_unknown_op_refuses_the_whole_request() -> None:
    agent = _agent()
    before = agent.host.snapshot()
    ops = [Op(op="link_ensure_bridge", args={"ifname": "br0", "owner": OWNER}), Op(op="nope")]
    with pytest.raises(errors.AgentError) as caught:
        agent.batch(ops)
    assert (caught.value.kind, caught.value.index) == ("Invalid", 1)
    assert "unknown op 'nope'" in caught.value.message
    assert agent.host.snapshot() == before and agent.log == []


def test_an_unknown_argument_is_refused_by_name() -> None:
    with pytest.raises(errors.AgentError, match="unknown argument 'colour'"):
        _agent().call("link_read", ifname="lo", colour="red")


def test_null_arguments_are_not_sent() -> None:
    agent = _agent()
    assert agent.call("link_read", netns=None, ifname="lo")["ifname"] == "lo"
    assert agent.log[-1].args == {"ifname": "lo"}
    with pytest.raises(errors.AgentError, match="unknown argument 'peer'"):
        agent.call("link_read", ifname="lo", peer="x")


def test_a_batch_stops_at_the_first_failure_with_the_results_before_it() -> None:
    agent = _agent()
    ops = [
        Op(op="link_ensure_bridge", args={"ifname": "br0", "owner": OWNER}),
        Op(op="link_set", args={"ifname": "missing0", "up": True}),
        Op(op="link_ensure_bridge", args={"ifname": "br1", "owner": OWNER}),
    ]
    with pytest.raises(errors.NotFound) as caught:
        agent.batch(ops)
    assert (caught.value.index, caught.value.failed_at) == (1, 1)
    assert [r["ifname"] for r in caught.value.results] == ["br0"]
    assert agent.host.netns[OWN].link("br0") is not None
    assert agent.host.netns[OWN].link("br1") is None


def test_fail_at_makes_the_nth_matching_op_fail_once_before_it_changes_anything() -> None:
    agent = _agent()
    agent.fail_at("link_ensure_bridge", 2)
    agent.call("link_ensure_bridge", ifname="br0", owner=OWNER)
    with pytest.raises(errors.AgentError, match="injected failure") as caught:
        agent.call("link_ensure_bridge", ifname="br1", owner=OWNER)
    assert caught.value.errno == errno.EIO and caught.value.index is None
    assert agent.host.netns[OWN].link("br1") is None
    agent.call("link_ensure_bridge", ifname="br1", owner=OWNER)
    assert agent.host.netns[OWN].link("br1") is not None


def test_fail_at_takes_a_predicate_and_an_error() -> None:
    agent = _agent()
    agent.fail_at(lambda op: op.args.get("ifname") == "br1", error=Busy("held"))
    with pytest.raises(errors.Busy):
        agent.call("link_ensure_bridge", ifname="br1", owner=OWNER)


def test_a_veth_pair_dies_as_one_and_with_its_namespace() -> None:
    agent = _agent()
    agent.call("netns_ensure", name="c1", owner=OWNER)
    agent.call(
        "link_ensure_veth", ifname="c1.eth0", peer_ifname="eth0", peer_netns="c1", owner=OWNER
    )
    agent.call("link_delete", netns="c1", ifname="eth0", owner=OWNER)
    assert agent.call("link_read", ifname="c1.eth0") is None
    agent.call(
        "link_ensure_veth", ifname="c1.eth0", peer_ifname="eth0", peer_netns="c1", owner=OWNER
    )
    agent.call("netns_delete", name="c1", owner=OWNER)
    assert agent.call("link_read", ifname="c1.eth0") is None


def test_a_link_going_down_takes_its_ipv4_routes_and_a_bridge_frees_its_ports() -> None:
    agent = _agent()
    assert agent.call("route_get", dst="8.8.8.8")["via"] == "10.32.171.1"
    agent.call("link_ensure_bridge", ifname="br0", owner=OWNER)
    agent.call("port_attach", ifname="ens32", master="br0", owner=OWNER)
    agent.call("link_delete", ifname="br0", owner=OWNER)
    assert agent.call("link_read", ifname="ens32")["master"] is None
    agent.call("link_set", ifname="ens32", up=False)
    assert agent.call("route_get", dst="8.8.8.8") is None


def test_a_gateway_must_be_reachable_unless_onlink() -> None:
    agent = _agent()
    with pytest.raises(errors.AgentError) as caught:
        agent.call("route_ensure", dst="10.9.0.0/16", via="10.99.0.1", owner=OWNER)
    assert caught.value.errno == errno.ENETUNREACH
    made = agent.call(
        "route_ensure", dst="10.9.0.0/16", via="10.99.0.1", dev="ens32", onlink=True, owner=OWNER
    )
    assert (made["dev"], made["proto"], made["created"]) == ("ens32", 77, True)


def test_a_missing_namespace_is_not_found_for_changes_and_absent_for_reads() -> None:
    agent = _agent()
    with pytest.raises(errors.NotFound, match="'ghost' does not exist"):
        agent.call("link_list", netns="ghost")
    with pytest.raises(errors.NotFound, match="container 'web' does not exist"):
        agent.call("addr_replace", netns="container:web", ifname="eth0", addresses=[])
    assert agent.call("link_read", netns="ghost", ifname="eth0") is None
    assert agent.call("route_delete", netns="ghost", dst="default", owner=OWNER) == {
        "deleted": False
    }


def test_the_kernels_refusals_of_a_foreign_source_and_a_second_device_per_vni() -> None:
    agent = _agent()
    with pytest.raises(errors.AgentError) as caught:
        agent.call("route_ensure", dst="10.9.0.0/16", dev="ens32", src="10.1.1.1", owner=OWNER)
    assert caught.value.errno == errno.EINVAL
    agent.call("link_ensure_vxlan", ifname="vx0", vni=7, owner=OWNER)
    with pytest.raises(errors.Conflict, match="vx1 appeared while being created"):
        agent.call("link_ensure_vxlan", ifname="vx1", vni=7, owner=OWNER)
    agent.call("link_ensure_vxlan", ifname="vx1", vni=7, dstport=4790, owner=OWNER)


def _without(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_snapshot_holds_what_the_read_ops_answer(name: str) -> None:
    """The snapshot op (answered once the agent's op table has it) agrees with the
    read ops, namespace by namespace, after each kind's create."""
    case = CASES[name]
    agent = FakeAgent(case.world())
    kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields))
    for key, ns in agent.host.netns.items():
        ref = key or None
        snap = snapshot(agent.host, Args("snapshot", {} if ref is None else {"netns": ref}))
        net, extra = snap["net"], snap["extra"]
        assert net["links"] == agent.call("link_list", netns=ref)
        assert [_without(r, "owner") for r in net["routes"]] == agent.call(
            "route_list", netns=ref, table=0
        )
        assert [_without(r, "owner", "ours") for r in net["ip_rules"]] == agent.call(
            "rule_list", netns=ref
        )
        for ifname, entries in net["fdb"].items():
            assert entries == agent.call("fdb_list", netns=ref, ifname=ifname)["entries"]
        for table, found in extra["iptables"].items():
            owned = agent.call("ipt_read_rules", netns=ref, table=table)
            assert [r["position"] for r in found["rules"] if r["owner"]] == [
                r["position"] for r in owned
            ]
        for sysctl, value in extra["sysctl"].items():
            assert value == agent.call("sysctl_read", netns=ref, key=sysctl)
        assert extra["netns"] == (agent.call("netns_list") if ns.key == OWN else None)
        if ns.named or ns.key == OWN:
            assert set(extra["sysctl"]) >= {"net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_read_the_kinds_make_is_answered_from_a_snapshot_as_by_the_op(name: str) -> None:
    """A client serving reads from snapshots (hostnet.agent.select) gets from the
    fake what the fake's read ops say: every read of the kind's rows, replayed."""
    case = CASES[name]
    agent = FakeAgent(case.world())
    outputs = kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields))
    for overrides in case.updates.values():
        fields = {k: v for k, v in {**case.fields, **overrides}.items() if v is not None}
        outputs = kinds.update(case.kind, agent, outputs, kinds.checked(case.kind, fields))
    reads = [sent for sent in agent.log if sent.op in select.PART]
    assert reads
    for sent in reads:
        part = select.PART[sent.op]
        ref = None if part == "extra" and sent.op.startswith("netns_") else sent.args.get("netns")
        found = agent.call("snapshot", netns=ref, parts=[part])
        assert select.answer(found, sent.op, sent.args) == agent.call(sent.op, **sent.args), sent
