"""N veth pairs on one host: the agent in one request vs one `ip -batch` run."""

from __future__ import annotations

import statistics

from _common import table, wall
from _hosts import OWNER, Host
from hostnet.protocol import Op

NETNS = "hnbench"  # scratch namespace on h1, so cleanup is one namespace delete
SCALE_BRIDGE = "hnbr0"
GROUP = 77  # interface group of the pairs, so one request deletes them all
BATCH = f"ip -n {NETNS} -batch -"


def pair_names(i: int) -> tuple[str, str]:
    return f"hnv{i}a", f"hnv{i}b"


def ip_batch(pairs: int, *, aliases: bool) -> bytes:
    lines = [f"link add {SCALE_BRIDGE} type bridge"]
    for i in range(pairs):
        a, b = pair_names(i)
        lines.append(f"link add {a} master {SCALE_BRIDGE} up type veth peer name {b}")
        if aliases:
            lines += [
                f"link set {a} alias hostnet:{OWNER}",
                f"link set {b} up alias hostnet:{OWNER}",
            ]
        else:
            lines.append(f"link set {b} up")
    return ("\n".join(lines) + "\n").encode()


def agent_ops(pairs: int) -> list[Op]:
    ops = [
        Op(op="link_ensure_bridge", args={"netns": NETNS, "ifname": SCALE_BRIDGE, "owner": OWNER})
    ]
    for i in range(pairs):
        a, b = pair_names(i)
        args = {"netns": NETNS, "ifname": a, "peer_ifname": b, "peer_netns": NETNS}
        ops.append(
            Op(
                op="link_ensure_veth",
                args={**args, "owner": OWNER, "master": SCALE_BRIDGE, "up": True},
            )
        )
    return ops


def fresh_netns(h1: Host) -> None:
    h1.agent.call("netns_delete", name=NETNS, owner=OWNER)
    if not h1.agent.call("netns_ensure", name=NETNS, owner=OWNER)["created"]:
        raise RuntimeError(f"{NETNS} was not recreated")


def clear_pairs(h1: Host, pairs: int) -> float:
    """Delete every pair in one kernel batch; return the seconds it took.

    Left to the namespace's deletion, the kernel would unregister them in the
    background, competing with the next run for the same two cores.
    """
    lines = [f"link set {pair_names(i)[0]} group {GROUP}" for i in range(pairs)]
    script = "\n".join([*lines, f"link del group {GROUP}"]) + "\n"
    return wall(lambda: h1.exec(BATCH, stdin=script.encode()))


def check_pairs(h1: Host, pairs: int) -> None:
    links = h1.agent.call("link_list", netns=NETNS)
    ports = [x for x in links if x["master"] == SCALE_BRIDGE and x["up"]]
    peers = [x for x in links if x["ifname"].endswith("b") and x["up"]]
    if len(ports) != pairs or len(peers) != pairs:
        raise RuntimeError(f"expected {pairs} pairs, found {len(ports)} ports, {len(peers)} peers")


def scale(h1: Host, *, pairs: int, reps: int) -> dict[str, list[float]]:
    """Wall seconds per run of each approach, each run in a fresh namespace."""
    plain = ip_batch(pairs, aliases=False)
    marked = ip_batch(pairs, aliases=True)
    ops = agent_ops(pairs)
    runs: dict[str, list[float]] = {"floor": [], "floor+alias": [], "agent": [], "teardown": []}
    for _ in range(reps):
        for key, action in (
            ("floor", lambda: h1.exec(BATCH, stdin=plain)),
            ("agent", lambda: h1.agent.batch(ops, timeout=240.0)),
            ("floor+alias", lambda: h1.exec(BATCH, stdin=marked)),
        ):
            fresh_netns(h1)
            runs[key].append(wall(action))
            check_pairs(h1, pairs)
            runs["teardown"].append(clear_pairs(h1, pairs))
    h1.agent.call("netns_delete", name=NETNS, owner=OWNER)
    return runs


def scale_table(runs: dict[str, list[float]], pairs: int) -> str:
    floor = statistics.median(runs["floor"])
    labels = {
        "floor": f"ip -batch over one exec channel ({2 * pairs + 1} lines): the floor",
        "floor+alias": f"ip -batch, also marking both ends ({4 * pairs + 1} lines)",
        "agent": f"agent, one request (bridge + {pairs} x link_ensure_veth)",
    }
    rows = []
    for key in ("floor", "floor+alias", "agent"):
        median = statistics.median(runs[key])
        each = ", ".join(f"{r:.2f}" for r in runs[key])
        rows.append([labels[key], f"{median:.2f}", each, f"{median / floor:.2f}x"])
    headers = [f"{pairs} veth pairs on h1 (in netns {NETNS})", "median s", "runs s", "vs floor"]
    teardown = runs["teardown"]
    return (
        table(headers, rows)
        + f"\nteardown after each run (every pair put in group {GROUP}, one `link del group`): "
        + f"median {statistics.median(teardown):.2f} s of {len(teardown)}"
    )
