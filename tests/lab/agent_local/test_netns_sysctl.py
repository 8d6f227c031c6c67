"""Named namespaces and sysctl writes with their restore."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostnet.agent.owner import FOREIGN
from hostnet.agent_client import Agent
from hostnet.protocol import Op
from tests.lab.agent_local.localagent import (
    OWNER,
    PREFIX,
    LocalAgent,
    failure,
    in_ns,
    netns_names,
)

pytestmark = pytest.mark.lab


def test_named_netns(agent: Agent, host: str) -> None:
    name = f"{PREFIX}-n1"
    assert agent.call("netns_ensure", name=name, owner=OWNER) == {"created": True}
    assert agent.call("netns_ensure", name=name, owner=OWNER) == {"created": False}
    assert name in netns_names()
    lo = in_ns(name, "ip", "-d", "link", "show", "lo").stdout
    assert "alias hostnet:t1/test" in lo and "UP" in lo.split(">")[0]
    listed = {n["name"]: n["owner"] for n in agent.call("netns_list")}
    assert listed[name] == {"id": OWNER} and listed[host] is None
    assert agent.call("netns_read", name=name) == {"name": name, "owner": {"id": OWNER}}
    assert agent.call("netns_read", name=host) == {"name": host, "owner": None}
    assert agent.call("netns_read", name=f"{PREFIX}-bogus") is None
    assert failure(agent, "netns_ensure", name=host, owner=OWNER).kind == "NotOwned"
    assert agent.call("netns_delete", name=host, owner=OWNER)["kept"] == FOREIGN
    assert agent.call("netns_delete", name=name, owner="t1/other")["deleted"] is False
    assert agent.call("netns_resolve", ref=name)["path"] == f"/run/netns/{name}"
    # One batch: create, put a bridge inside, delete, create again (no stale socket).
    results = agent.batch(
        [
            Op(op="link_ensure_bridge", args={"netns": name, "ifname": "nbr0", "owner": OWNER}),
            Op(op="netns_delete", args={"name": name, "owner": OWNER}),
            Op(op="netns_ensure", args={"name": name, "owner": OWNER}),
            Op(op="link_read", args={"netns": name, "ifname": "nbr0"}),
        ]
    )
    assert results[1:] == [{"deleted": True}, {"created": True}, None]
    assert agent.call("netns_delete", name=name, owner=OWNER) == {"deleted": True}
    assert agent.call("netns_delete", name=name, owner=OWNER) == {"deleted": False}
    assert name not in netns_names() and host in netns_names()
    assert failure(agent, "netns_ensure", name="../etc", owner=OWNER).kind == "Invalid"


def test_a_named_netns_is_new_and_the_agent_stays_in_its_own(
    agent: Agent, local: LocalAgent, host: str
) -> None:
    name = f"{PREFIX}-n2"
    assert agent.call("netns_ensure", name=name, owner=OWNER) == {"created": True}
    try:
        made = os.stat(f"/run/netns/{name}").st_ino
        home = os.stat(f"/run/netns/{host}").st_ino
        assert made not in {home, os.stat("/proc/self/ns/net").st_ino}
        # The thread that made it has ended; the agent's own are all still at home.
        tasks = Path(f"/proc/{local.proc.pid}/task")
        assert {(task / "ns" / "net").stat().st_ino for task in tasks.iterdir()} == {home}
        in_ns(name, "ip", "link", "add", "d0", "type", "bridge")
        assert agent.call("link_read", netns=name, ifname="d0")["kind"] == "bridge"
    finally:
        assert agent.call("netns_delete", name=name, owner=OWNER) == {"deleted": True}
    assert name not in netns_names()


# Run in a mount namespace of its own with an empty /run: a host where nothing has
# made a named namespace yet, whose /run/netns is not a mount point.
_FRESH_HOST = """
import os, subprocess
from hostnet.agent import nsmount
nsmount.create("fresh")
shown = subprocess.run(["ip", "netns", "exec", "fresh", "ip", "-o", "link"],
                       stdout=subprocess.PIPE, check=True).stdout.decode()
mounts = [line.split() for line in open("/proc/self/mountinfo")]
shared = [m for m in mounts if m[4] == "/run/netns" and any(f.startswith("shared:") for f in m[6:])]
print(len(shown.splitlines()), len(shared))
nsmount.remove("fresh")
print(os.listdir("/run/netns"))
"""


def test_a_host_without_named_namespaces_gets_a_shared_netns_dir() -> None:
    provider = Path(__file__).resolve().parents[3] / "provider"
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount -t tmpfs hostnet-test /run && exec "$0" -c "$1"',
            sys.executable,
            _FRESH_HOST,
        ],
        env=dict(os.environ, PYTHONPATH=str(provider)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # Only lo in the new namespace; /run/netns shared, as `ip netns add` leaves it.
    assert done.stdout.split("\n")[:2] == ["1 1", "[]"]


def test_sysctl_write_and_restore(agent: Agent, host: str, child: str, run_dir: Path) -> None:
    key = "net.ipv4.conf.all.forwarding"
    for ns in (None, child):
        where = host if ns is None else child
        assert agent.call("sysctl_read", netns=ns, key=key) == "0"
        assert agent.call("sysctl_write", netns=ns, key=key, value="1", owner=OWNER) == {
            "previous": "0",
            "created": True,
        }
        assert agent.call("sysctl_write", netns=ns, key=key, value=1, owner=OWNER) == {
            "previous": "0",
            "created": False,
        }
        assert in_ns(where, "sysctl", "-n", key).stdout.strip() == "1"
        error = failure(agent, "sysctl_write", netns=ns, key=key, value="0", owner="t1/other")
        assert error.kind == "NotOwned"
        assert agent.call("sysctl_restore", netns=ns, key=key, owner=OWNER) == {"restored": "0"}
        assert agent.call("sysctl_restore", netns=ns, key=key, owner=OWNER) == {"restored": None}
        assert in_ns(where, "sysctl", "-n", key).stdout.strip() == "0"
    assert not list((run_dir / "sysctl").rglob("net.*"))
    for bad in ("net..ipv4", "net/ipv4/ip_forward", "../../etc/passwd"):
        assert failure(agent, "sysctl_read", key=bad).kind == "Invalid"
    error = failure(agent, "sysctl_write", key="net.ipv4.nope", value="1", owner=OWNER)
    assert error.kind == "NotFound"
    error = failure(agent, "sysctl_write", key="net.ipv4.ip_forward", value="abc", owner=OWNER)
    assert error.kind == "Failed" and error.errno == 22, error
    assert agent.call("sysctl_read", key="net.ipv4.ip_forward") == "0"
    assert not list((run_dir / "sysctl").rglob("net.*"))
