"""Probes (ping and TCP with its banner) and the whole-host dump."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from hostnet.agent_client import Agent
from tests.lab.agent_local.localagent import PYTHON, failure

pytestmark = pytest.mark.lab


@pytest.fixture
def banner_server(child: str, wire: str) -> Iterator[int]:
    """A TCP server on 192.168.77.2:2222 in the child namespace that greets each client."""
    code = (
        "import socket\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('192.168.77.2', 2222)); s.listen(8); print('up', flush=True)\n"
        "while True:\n"
        "    c, _ = s.accept(); c.sendall(b'SSH-2.0-hostnet-test\\r\\nmore\\n'); c.close()\n"
    )
    argv = ["ip", "netns", "exec", child, str(PYTHON), "-c", code]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
    yield 2222
    proc.kill()
    proc.wait()


def test_probes(agent: Agent, child: str, banner_server: int) -> None:
    ping = agent.call("probe", kind="ping", address="192.168.77.2")
    assert ping["ok"] and "1 received" in ping["detail"]
    back = agent.call("probe", netns=child, kind="ping", address="192.168.77.1", timeout=1)
    assert back["ok"]
    lost = agent.call("probe", kind="ping", address="192.168.77.9", timeout=1)
    assert not lost["ok"] and "0 received" in lost["detail"]
    tcp = agent.call("probe", kind="tcp", address="192.168.77.2", port=banner_server)
    assert tcp == {**tcp, "ok": True, "banner": "SSH-2.0-hostnet-test"}
    closed = agent.call("probe", kind="tcp", address="192.168.77.2", port=2223)
    assert not closed["ok"] and "refused" in closed["detail"].lower()
    local = agent.call("probe", netns=child, kind="tcp", address="192.168.77.2", port=banner_server)
    assert local["ok"] and local["banner"] == "SSH-2.0-hostnet-test"
    assert failure(agent, "probe", kind="ping", address="not-an-ip").kind == "Invalid"
    assert failure(agent, "probe", kind="udp", address="192.168.77.2").kind == "Invalid"


def test_dump_all(agent: Agent, host: str, child: str, wire: str) -> None:
    snapshot = agent.call("dump_all")
    assert {n["name"] for n in snapshot["host"]["netns"]} >= {host, child}
    assert wire in {link["ifname"] for link in snapshot["host"]["links"]}
    inside = snapshot["netns"][child]
    hnw1 = next(link for link in inside["links"] if link["ifname"] == "hnw1")
    assert hnw1["addresses"] == ["192.168.77.2/24"] and hnw1["kind"] == "veth"
    assert any(r["dst"] == "192.168.77.0/24" for r in inside["routes"])
    assert inside["sysctl"]["net.ipv4.ip_forward"] == "0" and inside["netns"] == []
    assert snapshot["netns"][host]["links"] == snapshot["host"]["links"]
