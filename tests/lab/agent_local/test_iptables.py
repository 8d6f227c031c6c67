"""iptables chains and rules under both variants, foreign rules left alone, and an old
host's restore without -w under both xtables locks."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.protocol import Op
from tests.lab.agent_local.localagent import (
    CREATED,
    PYTHON,
    REWRITTEN,
    SAME,
    LocalAgent,
    Variant,
    failure,
    in_ns,
    saved,
)

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("mode", ["nft", "legacy"])
def test_iptables_round_trip_leaves_foreign_rules_alone(
    host: str, run_dir: Path, variant: Variant, mode: str
) -> None:
    tool = f"iptables-{mode}"
    local = LocalAgent(host, run_dir, variant, extra={"HOSTNET_IPTABLES": mode})
    try:
        assert local.ready["iptables"] == mode and local.agent is not None
        _iptables_round_trip(local.agent, host, tool)
    finally:
        assert local.close() == 0
        for table in ("filter", "nat"):
            in_ns(host, tool, "-w", "-t", table, "-F")
            in_ns(host, tool, "-w", "-t", table, "-X")


def _iptables_round_trip(agent: Agent, host: str, tool: str) -> None:
    in_ns(host, tool, "-w", "-N", "DOCKER-USER")
    in_ns(host, tool, "-w", "-A", "DOCKER-USER", "-j", "RETURN")
    in_ns(host, tool, "-w", "-A", "FORWARD", "-j", "DOCKER-USER")
    in_ns(host, tool, "-w", "-A", "FORWARD", "-s", "10.9.0.0/16", "-j", "DROP")
    in_ns(host, tool, "-w", "-t", "nat", "-A", "POSTROUTING", "-o", "eth7", "-j", "MASQUERADE")
    before = saved(host, tool=tool)
    chain = {"table": "filter", "chain": "HOSTNET-FWD", "parent": "FORWARD"}
    assert agent.call("ipt_ensure_chain", **chain) == {"created": True, "changed": True}
    assert agent.call("ipt_ensure_chain", **chain) == {"created": False, "changed": False}
    forward = saved(host, "filter", tool=tool)
    assert forward.count("-A FORWARD -j HOSTNET-FWD") == 1
    assert forward.index("-A FORWARD -j HOSTNET-FWD") < forward.index("-A FORWARD -j DOCKER-USER")
    ssh = ["-d", "192.168.5.0/24", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"]
    est = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]
    rule = {"table": "filter", "chain": "HOSTNET-FWD"}
    assert agent.call("ipt_ensure_rule", **rule, rule=ssh, owner="h1/fw/ssh") == CREATED
    assert agent.call("ipt_ensure_rule", **rule, rule=est, owner="h1/fw/est") == CREATED
    assert agent.call("ipt_ensure_rule", **rule, rule=ssh, owner="h1/fw/ssh") == SAME
    assert agent.call("ipt_ensure_rule", **rule, rule=est, owner="h1/fw/est") == SAME
    wider = ["-d", "192.168.0.0/16", *ssh[2:]]
    assert agent.call("ipt_ensure_rule", **rule, rule=wider, owner="h1/fw/ssh") == REWRITTEN
    read = agent.call("ipt_read_rules", table="filter")
    owners = [(r["owner"]["id"], r["position"]) for r in read]
    assert owners == [("h1/fw/ssh", 1), ("h1/fw/est", 2)]
    assert read[0]["rule"] == ["-d", "192.168.0.0/16", "-p", "tcp", "-m", "tcp", "--dport", "22",
                               "-j", "ACCEPT"]  # fmt: skip
    nat = ["-s", "192.168.5.0/24", "!", "-o", "hbr9", "-j", "MASQUERADE"]
    nat_rule = {"table": "nat", "chain": "POSTROUTING", "owner": "h1/nat/n1"}
    assert agent.call("ipt_ensure_rule", **nat_rule, rule=nat) == CREATED
    assert agent.call("ipt_ensure_rule", **nat_rule, rule=nat, position=1) == SAME
    assert agent.call("ipt_read_rules", table="nat", chain="POSTROUTING")[0]["owner"] == {
        "id": "h1/nat/n1"
    }
    for bad in (["-A", "FORWARD"], ["-j", "ACCEPT", "--comment", "x"], ["-F"], ["a\nb"]):
        assert failure(agent, "ipt_ensure_rule", **rule, rule=bad, owner="h1/x").kind == "Invalid"
    assert (
        failure(
            agent, "ipt_ensure_chain", table="filter", chain="DOCKER-USER", parent="FORWARD"
        ).kind
        == "Invalid"
    )
    # Still holding rules: the chain stays, and that is not an error.
    assert agent.call("ipt_delete_chain", **chain) == {"deleted": False, "remaining": 2}
    for owner in ("h1/fw/ssh", "h1/fw/est"):
        assert agent.call("ipt_delete_rule", **rule, owner=owner) == {"deleted": True}
        assert agent.call("ipt_delete_rule", **rule, owner=owner) == {"deleted": False}
    assert agent.call("ipt_delete_rule", table="nat", chain="POSTROUTING", owner="h1/nat/n1") == {
        "deleted": True
    }
    assert agent.call("ipt_delete_chain", **chain) == {"deleted": True}
    assert agent.call("ipt_delete_chain", **chain) == {"deleted": False}
    assert saved(host, tool=tool) == before
    assert agent.call("ipt_read_rules", table="filter") == []
    dumped = agent.call("dump")["rules"]
    assert "-A FORWARD -s 10.9.0.0/16 -j DROP" in dumped["filter"]


def test_old_host_restore_without_wait_honours_both_xtables_locks(
    local: LocalAgent, agent: Agent, host: str
) -> None:
    """iptables-restore without -w runs under the locks `iptables -w` takes: the
    flock of /run/xtables.lock and upstream 1.4.x's abstract socket @xtables."""
    assert local.ready["iptables_restore_wait"] is False
    rule = {"table": "filter", "chain": "FORWARD", "owner": "h1/fw/lock"}
    spec = ["-s", "10.77.0.0/16", "-j", "ACCEPT"]
    assert agent.call("ipt_ensure_rule", **rule, rule=spec) == CREATED
    fd = os.open("/run/xtables.lock", os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(errors.Busy):
            agent.batch([Op(op="ipt_delete_rule", args=rule)], timeout=0.5)
    finally:
        os.close(fd)
    code = (
        "import socket, time; s = socket.socket(socket.AF_UNIX); s.bind('\\0xtables'); "
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        ["ip", "netns", "exec", host, str(PYTHON), "-c", code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(errors.Busy):
            agent.batch([Op(op="ipt_delete_rule", args=rule)], timeout=0.5)
    finally:
        holder.kill()
        holder.wait()
    assert any("10.77.0.0/16" in x for x in saved(host, "filter"))
    assert agent.call("ipt_delete_rule", **rule) == {"deleted": True}
    assert not any("10.77.0.0/16" in x for x in saved(host, "filter"))
