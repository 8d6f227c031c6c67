"""Every agent op family against a lab host over real SSH: ensure twice changes
nothing the second time, delete twice succeeds, reads of missing objects are
null and create nothing. Works inside scratch namespaces on h1."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

import hostnet_lab
from hostnet import errors, transport
from hostnet.agent.owner import FOREIGN
from hostnet.agent_client import Agent
from hostnet.protocol import Op
from hostnet.transport import Connection
from hostnet_lab import LabInfo

pytestmark = pytest.mark.lab

TAG = secrets.token_hex(2)
OWNER = f"h1/test/{TAG}"


@pytest.fixture(scope="module")
def agent(lab: LabInfo) -> Agent:
    return transport.agent_for(
        Connection(
            address=lab.hosts["h1"],
            key_file=str(lab.key_path),
            known_hosts=str(lab.known_hosts_path),
        )
    )


@pytest.fixture
def scratch(agent: Agent) -> Iterator[tuple[str, str]]:
    """Two namespaces on h1 made by the agent: (work, peer)."""
    names = (f"hnw{TAG}", f"hnp{TAG}")
    for name in names:
        assert agent.call("netns_ensure", name=name, owner=OWNER) == {"created": True}
    yield names
    for name in names:
        agent.call("netns_delete", name=name, owner=OWNER)


def host_netns() -> list[str]:
    return sorted(hostnet_lab.host_exec("h1", ["ip", "netns", "list"]).stdout.split())


def test_links_and_addresses(agent: Agent, scratch: tuple[str, str]) -> None:
    ns, peer_ns = scratch
    first = agent.call("link_ensure_bridge", netns=ns, ifname="br0", owner=OWNER)
    again = agent.call("link_ensure_bridge", netns=ns, ifname="br0", owner=OWNER)
    assert first["ifindex"] == again["ifindex"] and first["kind"] == "bridge"
    pair = dict(netns=ns, ifname="v0", peer_ifname="p0", peer_netns=peer_ns, owner=OWNER)
    made = agent.call("link_ensure_veth", **pair)
    assert agent.call("link_ensure_veth", **pair)["link"]["ifindex"] == made["link"]["ifindex"]
    assert agent.call("link_read", netns=peer_ns, ifname="p0")["alias"] == f"hostnet:{OWNER}"
    agent.call("link_set", netns=ns, ifname="v0", owner=OWNER, master="br0", up=True)
    assert agent.call("link_read", netns=ns, ifname="v0")["master"] == "br0"
    address = dict(netns=ns, ifname="br0", address="192.0.2.1/24")
    assert agent.call("addr_ensure", **address) == {"changed": True}
    assert agent.call("addr_ensure", **address) == {"changed": False}
    assert agent.call("addr_delete", **address) == {"changed": True}
    assert agent.call("addr_delete", **address) == {"changed": False}
    for _ in range(2):
        agent.call("link_delete", netns=ns, ifname="v0", owner=OWNER)
    assert agent.call("link_read", netns=peer_ns, ifname="p0") is None  # the pair went together
    assert agent.call("link_delete", netns=ns, ifname="br0", owner=OWNER) == {"deleted": True}
    assert agent.call("link_delete", netns=ns, ifname="br0", owner=OWNER) == {"deleted": False}


def test_reads_of_missing_things_create_nothing(agent: Agent) -> None:
    before = host_netns()
    bogus = f"hnmissing{TAG}"
    assert agent.call("link_read", netns=bogus, ifname="x") is None
    assert agent.call("route_read", netns=bogus, dst="default") is None
    assert agent.call("sysctl_read", netns=bogus, key="net.ipv4.ip_forward") is None
    assert agent.call("netns_read", name=bogus) is None
    assert agent.call("ipt_read_rules", netns=bogus, table="filter") is None
    assert agent.call("link_read", ifname=f"nolink{TAG}") is None
    with pytest.raises(errors.AgentError) as info:
        agent.call("link_list", netns=bogus)
    assert info.value.kind == "NotFound"
    assert host_netns() == before


def test_routes(agent: Agent, scratch: tuple[str, str]) -> None:
    ns, _ = scratch
    agent.call("link_ensure_bridge", netns=ns, ifname="br0", owner=OWNER)
    agent.call("link_set", netns=ns, ifname="br0", owner=OWNER, up=True)
    agent.call("addr_ensure", netns=ns, ifname="br0", address="192.0.2.1/24")
    route = dict(netns=ns, dst="198.51.100.0/24", via="192.0.2.254", owner=OWNER)
    first = agent.call("route_ensure", **route)
    again = agent.call("route_ensure", **route)
    assert first.pop("created") and not again.pop("created")
    assert again == first and first["proto"] == 77
    assert agent.call("route_read", netns=ns, dst="198.51.100.0/24")["via"] == "192.0.2.254"
    where = dict(netns=ns, dst="198.51.100.0/24", owner=OWNER)
    assert agent.call("route_delete", **where) == {"deleted": True}
    assert agent.call("route_delete", **where) == {"deleted": False}
    # The kernel's connected route is not hostnet's: left, and said so.
    kept = agent.call("route_delete", netns=ns, dst="192.0.2.0/24", owner=OWNER)
    assert kept == {"deleted": False, "kept": FOREIGN}


def test_sysctl_records_and_restores(agent: Agent, scratch: tuple[str, str]) -> None:
    ns, _ = scratch
    key = "net.ipv4.ip_forward"
    before = agent.call("sysctl_read", netns=ns, key=key)
    for created in (True, False):
        assert agent.call("sysctl_write", netns=ns, key=key, value="1", owner=OWNER) == {
            "previous": before,
            "created": created,
        }
    assert agent.call("sysctl_read", netns=ns, key=key) == "1"
    assert agent.call("sysctl_restore", netns=ns, key=key, owner=OWNER) == {"restored": before}
    assert agent.call("sysctl_restore", netns=ns, key=key, owner=OWNER) == {"restored": None}
    assert agent.call("sysctl_read", netns=ns, key=key) == before


def test_iptables(agent: Agent, scratch: tuple[str, str]) -> None:
    ns, _ = scratch
    chain: dict[str, Any] = dict(netns=ns, table="filter", chain="HOSTNET-FORWARD")
    assert agent.call("ipt_ensure_chain", **chain, parent="FORWARD")["created"] is True
    assert agent.call("ipt_ensure_chain", **chain, parent="FORWARD")["created"] is False
    rule = dict(**chain, rule=["-i", "br0", "-j", "ACCEPT"], owner=OWNER, priority=5)
    assert agent.call("ipt_ensure_rule", **rule) == {"changed": True, "created": True}
    assert agent.call("ipt_ensure_rule", **rule) == {"changed": False, "created": False}
    [seen] = agent.call("ipt_read_rules", **chain)
    assert seen["owner"] == {"id": OWNER} and seen["rule"] == ["-i", "br0", "-j", "ACCEPT"]
    assert agent.call("ipt_delete_rule", **chain, owner=OWNER) == {"deleted": True}
    assert agent.call("ipt_delete_rule", **chain, owner=OWNER) == {"deleted": False}
    assert agent.call("ipt_delete_chain", **chain, parent="FORWARD") == {"deleted": True}
    assert agent.call("ipt_delete_chain", **chain, parent="FORWARD") == {"deleted": False}


def test_namespaces_and_probe(agent: Agent, scratch: tuple[str, str]) -> None:
    ns, _ = scratch
    name = f"hnx{TAG}"
    assert agent.call("netns_ensure", name=name, owner=OWNER) == {"created": True}
    assert agent.call("netns_ensure", name=name, owner=OWNER) == {"created": False}
    assert agent.call("netns_read", name=name) == {"name": name, "owner": {"id": OWNER}}
    assert agent.call("netns_delete", name=name, owner=OWNER) == {"deleted": True}
    assert agent.call("netns_delete", name=name, owner=OWNER) == {"deleted": False}
    assert agent.call("probe", netns=ns, kind="ping", address="127.0.0.1")["ok"] is True
    closed = agent.call("probe", netns=ns, kind="tcp", address="127.0.0.1", port=9, timeout=1)
    assert closed["ok"] is False
    dumped = agent.call("dump_all")
    assert ns in dumped["netns"] and dumped["host"]["links"]


def test_batch_stops_at_first_failure(agent: Agent, scratch: tuple[str, str]) -> None:
    ns, _ = scratch
    with pytest.raises(errors.AgentError) as info:
        agent.batch(
            [
                Op(op="link_ensure_bridge", args={"netns": ns, "ifname": "br9", "owner": OWNER}),
                Op(op="link_set", args={"netns": ns, "ifname": "nosuch", "up": True}),
                Op(op="link_ensure_bridge", args={"netns": ns, "ifname": "br8", "owner": OWNER}),
            ]
        )
    assert info.value.index == 1 and info.value.op == "link_set"
    assert agent.call("link_read", netns=ns, ifname="br9") is not None
    assert agent.call("link_read", netns=ns, ifname="br8") is None
