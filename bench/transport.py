"""Transport benchmark: a new ssh per command vs an exec channel vs the agent.

Runs inside the lab's control namespace (see bench/README.md). Prints, for a
no-op and for a typical op (add + remove an address on a scratch bridge), the
per-op median and p90 of each transport on h1; then 3 hosts x 100 ops at once;
then 500 veth pairs on h1, agent vs one `ip -batch` run; then the payload for
a Python 3.6 host next to the default one on h1 (bench/_payloads.py). Ratios are
taken within the run; targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from _common import (
    Stat,
    fmt,
    load_average,
    machine_line,
    require_lab,
    sample,
    table,
    verdict,
    wall,
)
from _hosts import ADDRESS, BRIDGE, OWNER, TYPICAL, Host, connect
from _pairs import NETNS, scale, scale_table
from _payloads import compare
from hostnet import transport
from hostnet.protocol import Op
from hostnet_lab import load_lab


@dataclass(frozen=True, kw_only=True)
class Plan:
    naive: int  # samples per naive series
    exec: int
    agent: int
    ping: int
    ops: int  # ops per host in the concurrent section
    naive_ops: int  # of which the naive transport runs this many (then scaled)
    reps: int  # repetitions of the concurrent and scale runs
    pairs: int


FULL = Plan(naive=20, exec=100, agent=100, ping=300, ops=100, naive_ops=20, reps=5, pairs=500)
QUICK = Plan(naive=8, exec=30, agent=30, ping=100, ops=100, naive_ops=5, reps=1, pairs=500)


# -- 1. per-op latency on h1 ----------------------------------------------------


def latency(h1: Host, plan: Plan) -> dict[str, Stat | None]:
    """Per-op samples (ms) of every transport, no-op and typical op."""
    return {
        "naive noop": sample(lambda: h1.ssh("true"), n=plan.naive, warmup=1),
        "naive op": sample(lambda: h1.ssh(TYPICAL), n=plan.naive, warmup=1),
        "exec noop": sample(lambda: h1.exec("true"), n=plan.exec),
        "exec op": sample(lambda: h1.exec(TYPICAL), n=plan.exec),
        "agent noop": sample(lambda: h1.agent.call("ping"), n=plan.ping, warmup=5),
        "agent op": sample(h1.typical_single, n=plan.agent, warmup=5),
        "batch noop": None,
        "batch op": sample(h1.typical_batched, n=plan.agent, warmup=5),
    }


def latency_table(s: dict[str, Stat | None]) -> str:
    naive_op = s["naive op"]
    assert naive_op is not None
    rows = []
    labels = (
        ("naive", "(a) new ssh process per command"),
        ("exec", "(b) paramiko exec channel per command"),
        ("agent", "(c) agent, one op per request"),
        ("batch", "(c) agent, one request carrying the ops"),
    )
    for key, label in labels:
        noop, op = s[f"{key} noop"], s[f"{key} op"]
        assert op is not None
        rows.append(
            [
                label,
                f"{noop.n}/{op.n}" if noop else f"-/{op.n}",
                fmt(noop.median if noop else None, 2),
                fmt(noop.p90 if noop else None, 2),
                fmt(op.median, 2),
                fmt(op.p90, 2),
                f"{naive_op.median / op.median:.0f}x",
            ]
        )
    headers = ["transport (h1)", "n", "no-op med", "no-op p90", "op med", "op p90", "op vs (a)"]
    return table(headers, rows)


# -- 2. three hosts at once -------------------------------------------------------


def in_parallel(hosts: list[Host], work: Callable[[Host], object]) -> float:
    """Seconds until every host's work, one thread per host, is done."""
    failures: list[BaseException] = []
    start = threading.Barrier(len(hosts) + 1)

    def run(host: Host) -> None:
        start.wait()
        try:
            work(host)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(h,)) for h in hosts]
    for thread in threads:
        thread.start()

    def release_and_join() -> None:
        start.wait()
        for thread in threads:
            thread.join()

    seconds = wall(release_and_join)
    if failures:
        raise failures[0]
    return seconds


def repeat(n: int, action: Callable[[], object]) -> None:
    for _ in range(n):
        action()


def concurrent(hosts: list[Host], plan: Plan) -> list[list[str]]:
    """Rows: wall seconds for every host to run plan.ops typical ops, per transport."""
    n, naive_n = plan.ops, plan.naive_ops
    args = {"ifname": BRIDGE, "address": ADDRESS}
    whole = [Op(op=o, args=args) for _ in range(n) for o in ("addr_ensure", "addr_delete")]
    series: dict[str, Callable[[Host], object]] = {
        "paramiko exec channel per op": lambda h: repeat(n, lambda: h.exec(TYPICAL)),
        "agent, one request per agent op": lambda h: repeat(n, h.typical_single),
        "agent, one request per op (its 2 agent ops)": lambda h: repeat(n, h.typical_batched),
        f"agent, one request for all {2 * n} agent ops": lambda h: h.agent.batch(whole),
    }
    results = {
        label: statistics.median([in_parallel(hosts, work) for _ in range(plan.reps)])
        for label, work in series.items()
    }
    measured = in_parallel(hosts, lambda h: repeat(naive_n, lambda: h.ssh(TYPICAL)))
    factor = n / naive_n
    results[f"new ssh process per op ({naive_n}/host measured, x{factor:g})"] = measured * factor
    base = results["agent, one request per agent op"]
    return [
        [
            label,
            f"{seconds:.2f}",
            f"{seconds / (len(hosts) * n) * 1000.0:.2f}",
            f"{seconds / base:.1f}x",
        ]
        for label, seconds in results.items()
    ]


# -- main -------------------------------------------------------------------------


def setup(hosts: list[Host]) -> None:
    for host in hosts:
        host.agent.call("link_ensure_bridge", ifname=BRIDGE, owner=OWNER)
        host.agent.call("addr_delete", ifname=BRIDGE, address=ADDRESS)


def cleanup(hosts: list[Host]) -> None:
    for host in hosts:
        try:
            host.agent.call("link_delete", ifname=BRIDGE, owner=OWNER)
            if host.name == "h1":
                host.agent.call("netns_delete", name=NETNS, owner=OWNER)
        except Exception as exc:
            print(f"cleanup on {host.name} failed: {exc}", file=sys.stderr)
        host.client.close()
    transport.close_all()


def report(s: dict[str, Stat | None], runs: dict[str, list[float]]) -> None:
    ping, naive, agent, batch = s["agent noop"], s["naive op"], s["agent op"], s["batch op"]
    assert ping and naive and agent and batch
    ratio = statistics.median(runs["agent"]) / statistics.median(runs["floor"])
    print("\nTargets (reported, not asserted)")
    print(
        f"  agent round trip median <= 1 ms: {ping.median:.2f} ms -> {verdict(ping.median <= 1.0)}"
    )
    speedup = naive.median / agent.median
    print(
        f"  typical op >= 50x faster than naive: {speedup:.0f}x one op per request "
        f"({naive.median / batch.median:.0f}x batched) -> {verdict(speedup >= 50)}"
    )
    print(
        f"  500 veth pairs within 2x of the ip -batch floor: {ratio:.2f}x -> {verdict(ratio <= 2)}"
    )


def run_all(hosts: list[Host], plan: Plan) -> None:
    h1 = hosts[0]
    started = time.monotonic()
    print(f"\n1. Per op on h1 (ms); typical op = add + remove {ADDRESS} on {BRIDGE}")
    stats = latency(h1, plan)
    print(latency_table(stats))
    print(f"({time.monotonic() - started:.0f} s)")
    started = time.monotonic()
    print(
        f"\n2. {len(hosts)} hosts x {plan.ops} typical ops at once (one thread per host; "
        f"median of {plan.reps} runs, naive 1 run)"
    )
    print(table(["transport", "wall s", "ms/op", "vs agent"], concurrent(hosts, plan)))
    print(f"({time.monotonic() - started:.0f} s)")
    started = time.monotonic()
    print(
        f"\n3. {plan.pairs} veth pairs: create, one end on a bridge, both ends up (the bridge "
        "stays down, as link_ensure_bridge makes it); each run in a fresh namespace"
    )
    runs = scale(h1, pairs=plan.pairs, reps=plan.reps)
    print(scale_table(runs, plan.pairs))
    print(f"({time.monotonic() - started:.0f} s)")
    started = time.monotonic()
    print(f"\n4. The Python 3.6 payload next to the default one on h1 (ms; {plan.agent} each)")
    print(compare(h1.address, n=plan.agent))
    print(f"({time.monotonic() - started:.0f} s)")
    report(stats, runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    plan = QUICK if parser.parse_args().quick else FULL
    require_lab("transport.py")
    info = load_lab()
    print(machine_line())
    hosts: list[Host] = []
    try:
        for name, address in sorted(info.hosts.items()):
            host, t_connect, t_agent = connect(name, address)
            hosts.append(host)
            print(
                f"{name} {address}: paramiko connect+auth {t_connect * 1000:.0f} ms, agent start "
                f"{t_agent * 1000:.0f} ms (python {host.agent.info['python']}, "
                f"pyroute2 {host.agent.info.get('pyroute2')})"
            )
        setup(hosts)
        run_all(hosts, plan)
    finally:
        cleanup(hosts)
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
