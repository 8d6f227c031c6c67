"""Links: bridges, veths (into named namespaces, by pid, path and container), vxlan,
foreign links left alone, and reads of what is missing."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from hostnet.agent.owner import FOREIGN
from hostnet.agent_client import Agent
from hostnet.protocol import Op
from tests.lab.agent_local.localagent import (
    OWNER,
    PREFIX,
    LocalAgent,
    Variant,
    failure,
    in_ns,
    links_in,
    netns_names,
    sh,
)

pytestmark = pytest.mark.lab


def test_bridge_ensure_twice_then_delete_twice(agent: Agent, host: str) -> None:
    first = agent.call("link_ensure_bridge", ifname="hbr0", owner=OWNER, mtu=1400)
    again = agent.call("link_ensure_bridge", ifname="hbr0", owner=OWNER, mtu=1400)
    assert first["ifindex"] == again["ifindex"] and first["kind"] == "bridge"
    assert again["alias"] == f"hostnet:{OWNER}" and again["mtu"] == 1400
    assert "alias hostnet:t1/test" in in_ns(host, "ip", "-d", "link", "show", "hbr0").stdout
    assert agent.call("link_read", ifname="hbr0") == again
    assert agent.call("link_delete", ifname="hbr0", owner=OWNER) == {"deleted": True}
    assert agent.call("link_delete", ifname="hbr0", owner=OWNER) == {"deleted": False}
    assert agent.call("link_read", ifname="hbr0") is None


def test_foreign_links_are_refused_and_untouched(agent: Agent, host: str) -> None:
    in_ns(host, "ip", "link", "add", "fbr0", "type", "bridge")
    in_ns(host, "ip", "link", "add", "fbr1", "type", "bridge")
    in_ns(host, "ip", "link", "set", "fbr1", "alias", "hostnet:someone/else")
    in_ns(host, "ip", "link", "add", "fve0", "type", "veth", "peer", "name", "fve1")
    before = links_in(host)
    assert failure(agent, "link_ensure_bridge", ifname="fbr0", owner=OWNER).kind == "NotOwned"
    assert failure(agent, "link_ensure_bridge", ifname="fbr1", owner=OWNER).kind == "NotOwned"
    assert failure(agent, "link_ensure_bridge", ifname="fve0", owner=OWNER).kind == "Exists"
    # A delete leaves what is not its own, and says whose it is.
    assert agent.call("link_delete", ifname="fbr0", owner=OWNER) == {
        "deleted": False,
        "kept": FOREIGN,
    }
    assert failure(agent, "link_set", ifname="fbr0", owner=OWNER, up=True).kind == "NotOwned"
    assert links_in(host) == before
    # Without an owner a foreign link may be enslaved and set up (e.g. a NIC into a bridge).
    agent.call("link_ensure_bridge", ifname="hbr1", owner=OWNER)
    port = agent.call("link_set", ifname="fve0", master="hbr1", up=True, promisc=True)
    assert port["master"] == "hbr1" and port["up"] and port["promisc"]
    port = agent.call("link_set", ifname="fve0", master="", promisc=False)
    assert port["master"] is None and not port["promisc"]
    for name in ("fbr0", "fbr1", "fve0"):
        in_ns(host, "ip", "link", "del", name)
    agent.call("link_delete", ifname="hbr1", owner=OWNER)


def test_link_set_changes_only_what_differs(agent: Agent) -> None:
    agent.call("link_ensure_bridge", ifname="hbr2", owner=OWNER)
    link = agent.call(
        "link_set", ifname="hbr2", owner=OWNER, up=True, mtu=1300, mac="02:00:00:00:00:42"
    )
    assert link["up"] and link["mtu"] == 1300 and link["mac"] == "02:00:00:00:00:42"
    same = agent.call("link_set", ifname="hbr2", owner=OWNER, up=True, mtu=1300)
    assert same["ifindex"] == link["ifindex"]
    assert failure(agent, "link_set", ifname="hbr2", owner="t1/other", up=False).kind == "NotOwned"
    assert (
        failure(agent, "link_set", ifname="hbr2", owner=OWNER, master="nosuch0").kind == "NotFound"
    )
    agent.call("link_delete", ifname="hbr2", owner=OWNER)


def test_veth_into_named_netns(agent: Agent, host: str, child: str, variant: Variant) -> None:
    agent.call("link_ensure_bridge", ifname="hbr3", owner=OWNER)
    args = {"ifname": "hv0", "peer_ifname": "eth9", "peer_netns": child, "owner": OWNER}
    first = agent.call("link_ensure_veth", **args, master="hbr3", up=True, mtu=1450)
    again = agent.call("link_ensure_veth", **args, master="hbr3", up=True, mtu=1450)
    for key in ("link", "peer"):
        assert first[key]["ifindex"] == again[key]["ifindex"]
        assert again[key]["alias"] == f"hostnet:{OWNER}" and again[key]["mtu"] == 1450
    assert first["link"]["master"] == "hbr3" and first["link"]["up"] and first["peer"]["up"]
    assert first["link"]["peer_ifindex"] == first["peer"]["ifindex"]
    assert "eth9@" in in_ns(child, "ip", "-o", "link", "show", "eth9").stdout
    peer = agent.call("link_read", netns=child, ifname="eth9")
    assert peer["ifindex"] == first["peer"]["ifindex"] and peer["kind"] == "veth"
    other = {**args, "peer_ifname": "eth8"}
    assert failure(agent, "link_ensure_veth", **other).kind == "Exists"
    error = failure(agent, "link_set", ifname="hbr3", owner=OWNER, master="hbr3")
    assert error.kind == "Failed" and error.errno == errno.ELOOP, error
    # The kernel's own words come with extended acks (4.12+); before, only the errno's.
    said = "Too many levels of symbolic links" if variant.old_kernel else "bridge"
    assert said in error.message, error
    assert agent.call("link_delete", ifname="hv0", owner=OWNER) == {"deleted": True}
    assert agent.call("link_delete", ifname="hv0", owner=OWNER) == {"deleted": False}
    assert agent.call("link_read", netns=child, ifname="eth9") is None
    agent.call("link_delete", ifname="hbr3", owner=OWNER)


def test_veth_refuses_a_taken_peer_name_and_creates_nothing(
    agent: Agent, host: str, child: str
) -> None:
    in_ns(child, "ip", "link", "add", "taken0", "type", "bridge")
    before_host, before_child = links_in(host), links_in(child)
    error = failure(
        agent, "link_ensure_veth", ifname="hv1", peer_ifname="taken0", peer_netns=child, owner=OWNER
    )
    assert error.kind == "NotOwned"
    assert links_in(host) == before_host and links_in(child) == before_child
    missing = failure(
        agent,
        "link_ensure_veth",
        ifname="hv1",
        peer_ifname="p1",
        peer_netns=f"{PREFIX}-nope",
        owner=OWNER,
    )
    assert missing.kind == "NotFound" and links_in(host) == before_host
    in_ns(child, "ip", "link", "del", "taken0")


def test_veth_peer_by_pid_path_and_container(
    host: str, run_dir: Path, variant: Variant, holder: int, tmp_path: Path
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    docker = fake / "docker"
    # Stands in for `docker inspect --format {{.State.Pid}} NAME`.
    docker.write_text(
        "#!/bin/sh\n"
        f'[ "$4" = "c1" ] && {{ echo {holder}; exit 0; }}\n'
        'echo "Error: No such object: $4" >&2; exit 1\n'
    )
    docker.chmod(0o755)
    local = LocalAgent(host, run_dir, variant, path=str(fake))
    agent = local.agent
    assert agent is not None
    try:
        for n, ref in enumerate((f"pid:{holder}", f"/proc/{holder}/ns/net", "container:c1")):
            made = agent.call(
                "link_ensure_veth",
                ifname=f"hp{n}",
                peer_ifname=f"cp{n}",
                peer_netns=ref,
                owner=OWNER,
            )
            seen = agent.call("link_read", netns=ref, ifname=f"cp{n}")
            assert seen["ifindex"] == made["peer"]["ifindex"], ref
            resolved = agent.call("netns_resolve", ref=ref)
            assert resolved["exists"] and resolved["path"] == f"/proc/{holder}/ns/net"
        assert agent.call("netns_resolve", ref="container:gone") == {
            "path": None,
            "exists": False,
            "inode": None,
        }
        assert agent.call("link_read", netns="container:gone", ifname="cp0") is None
        error = failure(agent, "link_list", netns="container:gone")
        assert error.kind == "NotFound" and "gone" in error.message
        for n in range(3):
            assert agent.call("link_delete", ifname=f"hp{n}", owner=OWNER) == {"deleted": True}
    finally:
        assert local.close() == 0


@pytest.mark.parametrize("bridge_up", [True, False], ids=["bridge-up", "bridge-down"])
def test_one_batch_puts_many_veths_on_a_bridge(agent: Agent, bridge_up: bool) -> None:
    """What bench/agent_local.py times, checked: one request of many link_ensure_veth
    with master and up leaves every pair on the bridge and up, bridge up or down."""
    ns, count = f"{PREFIX}-many", 100
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", ns, "link", "add", "mbr1", "type", "bridge")
        if bridge_up:
            sh("ip", "-n", ns, "link", "set", "mbr1", "up")
        common = {"netns": ns, "peer_netns": ns, "owner": OWNER, "master": "mbr1", "up": True}
        ops = [
            Op(op="link_ensure_veth", args={**common, "ifname": f"va{i}", "peer_ifname": f"vb{i}"})
            for i in range(count)
        ]
        assert len(agent.batch(ops, timeout=300)) == count
        ports = sh("ip", "-n", ns, "-o", "link", "show", "master", "mbr1").stdout.splitlines()
        assert len(ports) == count
        peers = sh("ip", "-n", ns, "-o", "link", "show", "up").stdout
        assert all(f" vb{i}@" in peers for i in range(count))
    finally:
        sh("ip", "netns", "del", ns)


def test_vxlan_ensure_twice_and_conflict(agent: Agent, host: str, wire: str) -> None:
    args = {"ifname": "hvx0", "owner": OWNER, "vni": 42, "local": "192.168.77.1"}
    args |= {"remote": "192.168.77.2", "dev": wire, "mtu": 1400}
    first = agent.call("link_ensure_vxlan", **args)
    again = agent.call("link_ensure_vxlan", **args)
    assert first["ifindex"] == again["ifindex"] and again["kind"] == "vxlan"
    assert again["vxlan"] == {
        "id": 42,
        "local": "192.168.77.1",
        "remote": "192.168.77.2",
        "group": None,
        "port": 4789,
        "dev": wire,
        "ttl": 0,
        "learning": True,
    }
    assert "dstport 4789" in in_ns(host, "ip", "-d", "link", "show", "hvx0").stdout
    assert failure(agent, "link_ensure_vxlan", **{**args, "vni": 43}).kind == "Exists"
    bad = failure(agent, "link_ensure_vxlan", **{**args, "group": "239.1.1.1"})
    assert bad.kind == "Invalid"
    assert agent.call("link_delete", ifname="hvx0", owner=OWNER) == {"deleted": True}


def test_reads_of_missing_things_return_null_and_create_nothing(agent: Agent) -> None:
    before = netns_names()
    bogus = f"{PREFIX}-bogus"
    assert agent.call("link_read", ifname="nosuch0") is None
    assert agent.call("link_read", netns=bogus, ifname="lo") is None
    assert agent.call("route_read", netns=bogus, dst="default") is None
    assert agent.call("sysctl_read", netns=bogus, key="net.ipv4.ip_forward") is None
    assert agent.call("sysctl_read", key="net.ipv4.no_such_key") is None
    assert agent.call("ipt_read_rules", netns=bogus, table="filter") is None
    assert agent.call("netns_resolve", ref=bogus)["exists"] is False
    assert agent.call("link_delete", netns=bogus, ifname="x", owner=OWNER) == {"deleted": False}
    assert failure(agent, "link_ensure_bridge", netns=bogus, ifname="x", owner=OWNER).kind == (
        "NotFound"
    )
    assert failure(agent, "link_list", netns=f"pid:{2**22 + 7}").kind == "NotFound"
    # Other namespaces may come and go meanwhile (a lab next door); ours did not.
    assert {n for n in netns_names() if n.startswith(PREFIX)} == {
        n for n in before if n.startswith(PREFIX)
    }
    assert not os.path.exists(f"/run/netns/{bogus}")
