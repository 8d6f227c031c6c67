"""The agent's protocol on a real agent process: the ready line, the wire format of
refusals, batches that stop at their first failure, concurrent requests, time
limits and the host lock."""

from __future__ import annotations

import fcntl
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.protocol import Op
from tests.lab.agent_local.localagent import OWNER, LocalAgent, Variant, failure, sh

pytestmark = pytest.mark.lab


def test_ready_line_and_info(local: LocalAgent, agent: Agent, variant: Variant) -> None:
    ready = local.ready
    assert ready["ready"] is True and ready["pid"] == local.proc.pid
    assert ready["iptables"] in ("nft", "legacy") and ready["kernel"] == os.uname().release
    version = sh(variant.python, "-c", "import platform; print(platform.python_version())")
    assert ready["python"] == version.stdout.strip()
    # What the host takes is detected at start: the old-kernel host refuses all three.
    assert ready["netlink"] == {
        "ext_ack": not variant.old_kernel,
        "strict_check": not variant.old_kernel,
    }
    assert ready["iptables_restore_wait"] is not variant.old_kernel
    info = agent.call("info")
    assert {k: v for k, v in ready.items() if k not in ("ready", "guards")} == info
    assert ready["guards"] == []  # none found at start
    assert agent.call("ping") == {"pong": True}


def _request(rid: int, *ops: tuple[str, dict[str, Any]]) -> bytes:
    return json.dumps({"id": rid, "ops": [{"op": o, "args": a} for o, a in ops]}).encode() + b"\n"


def test_the_wire_format_of_refusals_and_failures(
    host: str, run_dir: Path, variant: Variant
) -> None:
    """Raw lines, as hostnet's client never sends them: what the agent answers."""
    raw = LocalAgent(host, run_dir, variant, client=False)
    try:
        bad = raw.exchange(b"this is not json\n")
        assert bad["id"] is None and bad["ok"] is False and bad["results"] == []
        assert bad["error"]["type"] == "Invalid" and bad["error"]["index"] is None
        malformed = raw.exchange(_request(1, ("ping", {}), ("no_such_op", {})))
        assert malformed["id"] == 1 and malformed["results"] == []  # a malformed batch runs nothing
        assert malformed["error"] == {**malformed["error"], "index": 1, "type": "Invalid"}
        stopped = raw.exchange(
            _request(
                2,
                ("ping", {}),
                ("link_read", {"ifname": "lo"}),
                ("link_set", {"ifname": "nosuch0", "up": True}),
                ("link_ensure_bridge", {"ifname": "never0", "owner": OWNER}),
            )
        )
        assert stopped["ok"] is False and stopped["results"][0] == {"pong": True}
        assert len(stopped["results"]) == 2 and stopped["results"][1]["ifname"] == "lo"
        assert stopped["error"] == {**stopped["error"], "index": 2, "op": "link_set"}
        assert stopped["error"]["type"] == "NotFound"
    finally:
        assert raw.close() == 0


def test_bad_ops_and_arguments_are_invalid(agent: Agent) -> None:
    with pytest.raises(errors.AgentError) as raised:
        agent.batch([Op(op="ping"), Op(op="no_such_op")])
    assert raised.value.kind == "Invalid" and raised.value.index == 1
    assert failure(agent, "link_read", ifname="lo", bogus=1).kind == "Invalid"
    assert failure(agent, "link_read", ifname="x" * 16).kind == "Invalid"
    assert failure(agent, "link_set", ifname="lo", up="yes").kind == "Invalid"
    assert failure(agent, "link_set", ifname="lo", mtu=1400).kind == "Invalid"  # no owner


def test_batch_stops_at_first_failure(agent: Agent) -> None:
    with pytest.raises(errors.NotFound) as raised:
        agent.batch(
            [
                Op(op="ping"),
                Op(op="link_read", args={"ifname": "lo"}),
                Op(op="link_set", args={"ifname": "nosuch0", "up": True}),
                Op(op="link_ensure_bridge", args={"ifname": "never0", "owner": OWNER}),
            ]
        )
    assert raised.value.index == 2 and raised.value.op == "link_set"
    assert agent.call("link_read", ifname="never0") is None


def test_concurrent_requests_are_matched_by_id(agent: Agent, child: str) -> None:
    """20 requests in flight at once from 20 threads: each thread gets its own answer."""
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("ping", {}),
        ("link_list", {"netns": child}),
        ("link_ensure_bridge", {"ifname": "brc0", "owner": OWNER}),
        ("route_list", {}),
        ("sysctl_read", {"key": "net.ipv4.ip_forward"}),
    ]
    looks_right = {
        "ping": lambda r: r == {"pong": True},
        "link_list": lambda r: isinstance(r, list) and {x["ifname"] for x in r} >= {"lo"},
        "link_ensure_bridge": lambda r: isinstance(r, dict) and r.get("ifname") == "brc0",
        "route_list": lambda r: isinstance(r, list) and all("dst" in x for x in r),
        "sysctl_read": lambda r: r in ("0", "1"),
    }
    sent = [kinds[i % len(kinds)] for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda kind: agent.call(kind[0], **kind[1]), sent))
    for (op, _), answer in zip(sent, answers, strict=True):
        assert looks_right[op](answer), (op, answer)
    assert agent.call("link_delete", ifname="brc0", owner=OWNER) == {"deleted": True}


def test_timeout_and_busy(agent: Agent, run_dir: Path, wire: str) -> None:
    # Nobody has 192.168.77.9 on the wire: ping waits its full -W.
    probe = Op(op="probe", args={"kind": "ping", "address": "192.168.77.9", "timeout": 3})
    with pytest.raises(errors.OpTimeout):
        agent.batch([probe], timeout=0.5)
    fd = os.open(run_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(errors.Busy):
            agent.batch(
                [Op(op="link_ensure_bridge", args={"ifname": "busy0", "owner": OWNER})],
                timeout=0.3,
            )
        assert agent.batch([Op(op="link_list")], timeout=2)  # reads take no lock
    finally:
        os.close(fd)
    assert agent.call("link_read", ifname="busy0") is None
