"""The payload for an old host next to the default one, on the same lab host.

Two agents run on h1 at once: one started with the host's python3 (the default
payload: pyroute2 0.9.7, bytecode when the minor version matches the
controller's) and one with the pyenv Python 3.6 named as the Host's python (the
3.6 payload: pyroute2 0.8.1 and the agent's sources with annotations stripped,
compiled on the host). Each op is timed on both, alternating, in one run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from _common import fmt, sample, table
from hostnet import transport
from hostnet.protocol import Op
from hostnet.transport import Connection
from hostnet_lab import hosts as labhosts
from hostnet_lab import load_lab

BRIDGE = "hnbench2"  # a scratch bridge of this section only
ROUTE = "198.18.2.0/24"  # RFC 2544 benchmarking range, only ever via BRIDGE
OWNER = "bench"


def _ops(agent: Any) -> dict[str, Callable[[], object]]:
    addr = {"ifname": BRIDGE, "address": "198.18.1.1/32"}
    route = {"dst": ROUTE, "dev": BRIDGE, "owner": OWNER}
    route_key = {"dst": ROUTE, "owner": OWNER}
    bridge = {"ifname": BRIDGE + "x", "owner": OWNER}
    return {
        "ping (round trip)": lambda: agent.call("ping"),
        "link_read": lambda: agent.call("link_read", ifname=BRIDGE),
        "addr_ensure + addr_delete": lambda: agent.batch(
            [Op(op="addr_ensure", args=addr), Op(op="addr_delete", args=addr)]
        ),
        "route_ensure + route_delete": lambda: agent.batch(
            [Op(op="route_ensure", args=route), Op(op="route_delete", args=route_key)]
        ),
        "link_ensure_bridge + link_delete": lambda: agent.batch(
            [Op(op="link_ensure_bridge", args=bridge), Op(op="link_delete", args=bridge)]
        ),
        "route_list": lambda: agent.call("route_list"),
        "ipt_read_rules filter": lambda: agent.call("ipt_read_rules", table="filter"),
        "sysctl_read": lambda: agent.call("sysctl_read", key="net.ipv4.ip_forward"),
    }


def compare(address: str, *, n: int) -> str:
    """A table: per-op median and p90 (ms) of the default and the 3.6 payload on one host."""
    info = load_lab()
    base = Connection(
        address=address, key_file=str(info.key_path), known_hosts=str(info.known_hosts_path)
    )
    old = replace(base, python=str(labhosts.pyenv_python("3.6")))
    agents: dict[str, Any] = {}
    starts: dict[str, float] = {}
    for label, conn in (("default", base), ("3.6", old)):
        started = time.perf_counter()
        agents[label] = transport.agent_for(conn)
        starts[label] = time.perf_counter() - started
    try:
        default, py36 = agents["default"], agents["3.6"]
        default.call("link_ensure_bridge", ifname=BRIDGE, owner=OWNER)
        default.call("link_set", ifname=BRIDGE, owner=OWNER, up=True)
        rows = [
            [
                "agent start (connect, payload, ready)",
                f"{starts['default'] * 1000:.0f}",
                "",
                f"{starts['3.6'] * 1000:.0f}",
                "",
                f"{starts['3.6'] / starts['default']:.2f}x",
            ]
        ]
        ops_default, ops_36 = _ops(default), _ops(py36)
        for name in ops_default:
            a, b = (sample(ops[name], n=n, warmup=3) for ops in (ops_default, ops_36))
            cells = [fmt(a.median, 2), fmt(a.p90, 2), fmt(b.median, 2), fmt(b.p90, 2)]
            rows.append([name, *cells, f"{b.median / a.median:.2f}x"])
    finally:
        if "default" in agents:
            agents["default"].call("link_delete", ifname=BRIDGE, owner=OWNER)
    head = (
        f"default: python {default.info['python']}, pyroute2 {default.info['pyroute2']}; "
        f"3.6: python {py36.info['python']}, pyroute2 {py36.info['pyroute2']}"
    )
    headers = ["op (ms)", "default med", "p90", "3.6 med", "p90", "3.6 / default"]
    return head + "\n" + table(headers, rows)
