"""The agent's guard ops over real SSH on lab host h2: the management path in the
ready line, one guard per key, disarm leaving nothing, and a guard whose process
died (killed with its controller's session) resolved by the next agent."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator

import pytest

import hostnet_lab
from hostnet import errors, transport
from hostnet.agent_client import Agent
from hostnet.transport import Connection
from hostnet_lab import LabInfo

pytestmark = pytest.mark.lab

TAG = secrets.token_hex(2)
GUARDS = "/run/hostnet/guards"
LINK = f"hngd{TAG}"


@pytest.fixture(scope="module")
def conn(lab: LabInfo) -> Connection:
    return Connection(
        address=lab.hosts["h2"], key_file=str(lab.key_path), known_hosts=str(lab.known_hosts_path)
    )


@pytest.fixture
def agent(conn: Connection) -> Iterator[Agent]:
    yield transport.agent_for(conn)
    hostnet_lab.host_exec("h2", ["ip", "link", "del", LINK])


def _on_h2(*argv: str) -> str:
    done = hostnet_lab.host_exec("h2", list(argv))
    assert done.returncode == 0, done.stderr
    return done.stdout


def _left() -> list[str]:
    files = hostnet_lab.host_exec("h2", ["sh", "-c", f"ls -A {GUARDS} 2>/dev/null"]).stdout
    procs = [line for line in _on_h2("ps", "-eo", "args").splitlines() if f"{GUARDS}/h2" in line]
    return files.split() + procs


def _until(what: str, condition: Callable[[], bool], *, within: float = 30.0) -> None:
    limit = time.monotonic() + within
    while not condition():
        assert time.monotonic() < limit, what
        time.sleep(0.25)


def test_the_ready_line_names_the_management_path(agent: Agent) -> None:
    assert agent.info["management"] == {
        "peer": "10.32.171.250",
        "local": "10.32.171.203",
        "port": 22,
        "dev": "ens32",
        "src": "10.32.171.203",
        "local_dev": "ens32",  # the link holding the address the session reached
    }


def test_one_guard_per_key_and_disarm_leaves_nothing(agent: Agent) -> None:
    key = f"h2/sysctl/test{TAG}"
    touches = [{"what": "sysctl", "key": "net.ipv4.conf.all.rp_filter"}]
    armed = agent.call("guard_arm", key=key, timeout=300, touches=touches, reason="test")
    value = _on_h2("cat", "/proc/sys/net/ipv4/conf/all/rp_filter").strip()
    assert armed["what"] == [f"net.ipv4.conf.all.rp_filter back to {value}"]
    with pytest.raises(errors.AgentError) as refused:
        agent.call("guard_arm", key=key, timeout=300, touches=touches, reason="test")
    assert refused.value.kind == "Exists"
    assert agent.call("guard_disarm", key=key)["state"] == "disarmed"
    _until(f"guard left: {_left()}", lambda: not _left())
    assert agent.call("guard_disarm", key=key) == {"key": key, "state": None}


def test_a_guard_whose_process_died_is_resolved_by_the_next_agent(
    agent: Agent, conn: Connection
) -> None:
    key = f"h2/bridge/{LINK}"
    touches = [{"what": "link", "ifname": LINK}]
    agent.call("guard_arm", key=key, timeout=2, touches=touches, reason="test")
    _on_h2("ip", "link", "add", LINK, "type", "bridge")  # the change the guard covers
    pidfile = f"{GUARDS}/h2%2Fbridge%2F{LINK}.pid"
    started = ["test", "-s", pidfile]
    _until("no guard process", lambda: hostnet_lab.host_exec("h2", started).returncode == 0)
    _on_h2("sh", "-c", f"kill -9 $(cat {pidfile})")
    time.sleep(3)  # the deadline passes with no process to act on it
    assert LINK in _on_h2("ip", "link", "show")
    transport.forget(conn)
    fresh = transport.agent_for(conn)
    found = [g for g in fresh.info["guards"] if g["key"] == key]
    assert found and found[0]["state"] == "armed" and found[0]["respawned"], fresh.info["guards"]
    assert found[0]["deadline_in"] < 0
    _until("the host did not revert", lambda: LINK not in _on_h2("ip", "link", "show"))
    _until("no reverted record", lambda: any(f.endswith(".reverted.json") for f in _left()))
    # Reported once, by the next agent to start; kept for guard_disarm to collect.
    transport.forget(conn)
    reported = [g for g in transport.agent_for(conn).info["guards"] if g["key"] == key]
    assert [g["state"] for g in reported] == ["reverted"], reported
    assert reported[0]["what"] == [f"{LINK} removed"]
    transport.forget(conn)
    fresh = transport.agent_for(conn)
    assert not [g for g in fresh.info["guards"] if g["key"] == key], fresh.info["guards"]
    collected = fresh.call("guard_disarm", key=key)
    assert collected["state"] == "reverted" and collected["what"] == [f"{LINK} removed"]
    _until(f"guard left: {_left()}", lambda: not _left())
