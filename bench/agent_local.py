"""The agent without SSH: hostnet's agent as a local process in scratch namespaces.

Needs root, not the lab. hostnet's own client (hostnet.agent_client.Agent) talks
to `python -m hostnet.agent` over a socket and a pipe, so the figures are the
agent's and the kernel's share of what bench/transport.py measures over SSH:
1. the no-op round trip (ping), and a bridge create + delete per request;
2. N veth pairs put on a bridge that is up, and on one that is down (then set
   up), by one agent request vs one `ip -batch` run (the floor).
Everything lives in namespaces hnbench-local-<random>-*, deleted at the end.
Figures are printed, never asserted (see README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from _common import Stat, fmt, load_average, machine_line, sample, table, wall
from hostnet.agent_client import Agent
from hostnet.protocol import Op

PREFIX = f"hnbench-local-{secrets.token_hex(2)}"
OWNER = "bench"
BRIDGE = "mbr1"


def ip(*argv: str, stdin: bytes | None = None) -> None:
    subprocess.run(["ip", *argv], input=stdin, check=True, capture_output=True)


@contextmanager
def netns(name: str) -> Iterator[str]:
    ip("netns", "add", name)
    try:
        yield name
    finally:
        ip("netns", "del", name)


@contextmanager
def local_agent(ns: str, run_dir: str) -> Iterator[Agent]:
    """The agent inside ``ns`` (nsenter: it shares this machine's mounts, so it
    sees the namespaces made here), its run dir ``run_dir``."""
    argv = ["nsenter", f"--net=/run/netns/{ns}", sys.executable, "-m", "hostnet.agent"]
    env = {**os.environ, "HOSTNET_RUN_DIR": run_dir}
    # Its stdin is a socket, which the client sends on as on an SSH channel.
    ours, theirs = socket.socketpair()
    with theirs:
        proc = subprocess.Popen(argv, stdin=theirs, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    agent = Agent(host=ns, channel=ours, stdout=proc.stdout, info=ready)
    try:
        yield agent
    finally:
        agent.close()
        proc.wait(timeout=60)


def round_trips(agent: Agent, *, pings: int, bridges: int) -> dict[str, Stat]:
    bridge = {"ifname": "mbr0", "owner": OWNER}
    both = [Op(op="link_ensure_bridge", args=bridge), Op(op="link_delete", args=bridge)]
    return {
        "no-op round trip (ping)": sample(lambda: agent.call("ping"), n=pings, warmup=20),
        "bridge create + delete, one request": sample(lambda: agent.batch(both), n=bridges),
    }


def veth_ops(ns: str, count: int) -> list[Op]:
    common = {"netns": ns, "peer_netns": ns, "owner": OWNER, "master": BRIDGE, "up": True}
    return [
        Op(op="link_ensure_veth", args={**common, "ifname": f"va{i}", "peer_ifname": f"vb{i}"})
        for i in range(count)
    ]


def ip_batch(count: int) -> bytes:
    lines = []
    for i in range(count):
        lines += [f"link add va{i} type veth peer name vb{i}", f"link set va{i} master {BRIDGE} up"]
        lines.append(f"link set vb{i} up")
    return ("\n".join(lines) + "\n").encode()


def one_run(agent: Agent, *, tool: str, bridge_up: bool, count: int, n: int) -> float:
    """Seconds to put ``count`` pairs on the bridge, in a namespace of the run's own."""
    with netns(f"{PREFIX}-r{n}") as ns:
        ip("-n", ns, "link", "add", BRIDGE, "type", "bridge")
        if bridge_up:
            ip("-n", ns, "link", "set", BRIDGE, "up")

        def work() -> None:
            if tool == "agent":
                agent.batch(veth_ops(ns, count), timeout=600.0)
            else:
                ip("-n", ns, "-batch", "-", stdin=ip_batch(count))
            if not bridge_up:
                ip("-n", ns, "link", "set", BRIDGE, "up")

        seconds = wall(work)
        ports = agent.call("link_list", netns=ns)
        on_bridge = [x for x in ports if x["master"] == BRIDGE and x["up"]]
        if len(on_bridge) != count:
            raise RuntimeError(f"{tool}: {len(on_bridge)} of {count} pairs on the bridge")
        return seconds


def veths(agent: Agent, *, count: int, reps: int) -> list[list[str]]:
    rows = []
    runs = 0
    for bridge_up in (True, False):
        times: dict[str, list[float]] = {"ip -batch": [], "agent": []}
        for _ in range(reps):
            for tool, seconds in times.items():  # interleaved: load hits both alike
                runs += 1
                seconds.append(one_run(agent, tool=tool, bridge_up=bridge_up, count=count, n=runs))
        floor, mine = (Stat(samples=tuple(times[t])) for t in ("ip -batch", "agent"))
        where = "up" if bridge_up else "down, then up"
        ratio = f"{mine.median / floor.median:.2f}x"
        rows.append([f"bridge {where}", fmt(floor.median, 2), fmt(mine.median, 2), ratio])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    quick = parser.parse_args().quick
    if os.geteuid() != 0:
        sys.exit("agent_local.py: needs root (network namespaces); no lab is needed")
    print(machine_line())
    with (
        tempfile.TemporaryDirectory(prefix="hnbench-run-") as run_dir,
        netns(f"{PREFIX}-home") as home,
        local_agent(home, run_dir) as agent,
    ):
        stats = round_trips(agent, pings=100 if quick else 300, bridges=10 if quick else 30)
        print("\n1. One request over the local agent's stdin and stdout (ms)")
        rows: list[Any] = [[k, fmt(s.median, 2), fmt(s.p90, 2), s.n] for k, s in stats.items()]
        print(table(["request", "median", "p90", "n"], rows))
        count, reps = 500, 1 if quick else 3
        print(f"\n2. {count} veth pairs onto a bridge, each run in a fresh namespace (s, median)")
        rows = veths(agent, count=count, reps=reps)
        print(table(["bridge", "ip -batch", "agent, one request", "agent / ip"], rows))
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
