"""route_ensure per op as the routing table grows: 10, 300 and 3,000 routes.

The main table is served by one FIB lookup per op (RTM_F_FIB_MATCH); table 100
cannot be (a lookup follows the policy rules, not a table of our choosing), so it
is read by a dump per op, which is what every table cost before: that is the
baseline, measured in the same run on the same host. Run in the lab's control
namespace: `make bench` (or `BENCH=routes make bench`).
"""

from __future__ import annotations

import argparse
import ipaddress

from _common import fmt, machine_line, require_lab, sample, table, verdict
from _hosts import BRIDGE, OWNER, Host, connect

SIZES = (10, 300, 3000)
GATEWAY = "198.18.0.254"  # on BRIDGE; RFC 2544 benchmarking range
FILL = ipaddress.ip_network("198.19.0.0/16")  # the filler routes' /32s
PROBE = ("198.18.128.0/24", "198.18.129.0/24")  # the two routes the ops alternate on


def _fill(host: Host, *, table_id: int, start: int, stop: int) -> None:
    """Filler routes, written by `ip -batch` on the host: only the table's size matters."""
    hosts = list(FILL.hosts())
    lines = "".join(
        f"route add {hosts[i]}/32 via {GATEWAY} table {table_id}\n" for i in range(start, stop)
    )
    host.exec("ip -batch -", stdin=lines.encode())


def _ensure(agent: object, table_id: int) -> None:
    """The typical route op: one route made, then it and its twin read back."""
    for dst in PROBE:
        agent.call("route_ensure", dst=dst, via=GATEWAY, table=table_id, owner=OWNER)  # type: ignore[attr-defined]


def route_costs(*, quick: bool) -> tuple[list[list[str]], float]:
    """route_ensure per op on h2 at each table size: the table's rows and the growth
    of the main table's median from the smallest size to the largest."""
    host, _, _ = connect("h2", "10.32.171.203")
    agent = host.agent
    agent.call("link_ensure_bridge", ifname=BRIDGE, owner=OWNER)
    agent.call("link_set", ifname=BRIDGE, owner=OWNER, up=True)
    agent.call("addr_ensure", ifname=BRIDGE, address=f"{GATEWAY}/24")
    rows, medians = [], []
    have = 0
    try:
        for size in SIZES:
            for table_id in (254, 100):
                _fill(host, table_id=table_id, start=have, stop=size)
            have = size
            n = 10 if quick else 40
            fast = sample(lambda: _ensure(agent, 254), n=n)
            dump = sample(lambda: _ensure(agent, 100), n=max(4, n // 4))
            rows.append(
                [f"{size}", fmt(fast.median / 2, 2), fmt(fast.p90 / 2, 2), fmt(dump.median / 2, 2)]
            )
            medians.append(fast.median)
    finally:
        agent.call("link_delete", ifname=BRIDGE, owner=OWNER)  # its routes go with it
    return rows, medians[-1] / medians[0]


def print_route_costs(*, quick: bool) -> None:
    rows, growth = route_costs(quick=quick)
    print("\nroute_ensure per op on h2 (ms): main table (one FIB lookup) vs table 100 (dump)")
    print(table(["routes in table", "median", "p90", "dump per op (baseline)"], rows))
    print(
        f"\nper-op cost from {SIZES[0]} to {SIZES[-1]} routes: x{growth:.2f} "
        f"(target: within 2x) {verdict(growth <= 2.0)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    require_lab("routes.py")
    print(machine_line())
    print_route_costs(quick=args.quick)


if __name__ == "__main__":
    main()
