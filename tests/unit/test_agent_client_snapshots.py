"""The agent client's reads from snapshots: when a read is answered without a
round trip, when it goes to the host, and what is counted (hostnet.stats).

The host is a scripted channel here: it answers ``snapshot`` with a fixed
namespace state and every other op with a marker naming the op, so a test can
tell an answer from the snapshot from one of the host.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import pytest

from hostnet import errors, stats
from hostnet.agent.ops import OPS
from hostnet.agent_client import READS, Agent, _copy_of
from hostnet.protocol import Op

LINK = {"ifindex": 3, "ifname": "br0", "kind": "bridge", "owner": None, "addresses": []}
SNAPSHOTS: dict[str | None, Any] = {
    None: {
        "net": {"links": [LINK], "routes": [], "ip_rules": [], "fdb": {}},
        "extra": {
            "iptables": {},
            "sysctl": {"net.ipv4.ip_forward": "1"},
            "sysctl_owners": {},
            "netns": [{"name": "blue", "owner": None}],
        },
    },
    "blue": {"net": {"links": [], "routes": [], "ip_rules": [], "fdb": {}}},
    "gone": None,
}


class ScriptedHost:
    """A channel and its stdout: requests in, one answer line per request out."""

    def __init__(self, *, hold_snapshots: threading.Event | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._hold = hold_snapshots
        self.fail_snapshots = False

    def sendall(self, data: bytes) -> None:
        request = json.loads(data)
        self.requests.append(request)
        threading.Thread(target=self._answer, args=(request,), daemon=True).start()

    def _answer(self, request: dict[str, Any]) -> None:
        results: list[Any] = []
        reply: dict[str, Any] = {"id": request["id"], "ok": True, "results": results}
        for op in request["ops"]:
            if op["op"] != "snapshot":
                results.append({"from_host": op["op"]})
                continue
            if self._hold is not None:
                self._hold.wait(10)
            if self.fail_snapshots:
                reply["ok"] = False
                reply["error"] = {"index": 0, "op": "snapshot", "type": "Failed", "message": "x"}
                break
            ref = op["args"].get("netns")
            found = SNAPSHOTS[ref]
            parts = op["args"]["parts"]
            results.append(None if found is None else {p: found[p] for p in parts if p in found})
        self._lines.put(json.dumps(reply).encode() + b"\n")

    def readline(self) -> bytes:
        return self._lines.get()

    def close(self) -> None:
        self._lines.put(b"")

    def sent(self, op: str) -> int:
        return sum(1 for r in self.requests for o in r["ops"] if o["op"] == op)


def _agent(host: ScriptedHost, name: str) -> Agent:
    return Agent(host=name, channel=host, stdout=host, info={}, default_timeout=5, serve_reads=True)


def test_reads_are_served_from_one_snapshot_per_namespace_and_part() -> None:
    host = ScriptedHost()
    agent = _agent(host, "unit-served")
    assert agent.call("link_read", ifname="br0") == LINK
    assert agent.call("link_read", ifname="nothere") is None
    assert agent.call("link_list") == [LINK]
    assert agent.call("link_read", netns="blue", ifname="eth0") is None
    assert agent.call("sysctl_read", key="net.ipv4.ip_forward") == "1"
    assert agent.call("netns_read", name="blue") == {"name": "blue", "owner": None}
    # A namespace that is gone: reads that answer null there do so.
    assert agent.call("route_read", netns="gone", dst="10.0.0.0/8") is None
    assert [r["ops"][0]["args"] for r in host.requests] == [
        {"parts": ["net"]},
        {"netns": "blue", "parts": ["net"]},
        {"parts": ["extra"]},
        {"netns": "gone", "parts": ["net"]},
    ]
    counts = stats.current()["unit-served"]
    assert counts["round_trips"] == 4
    assert counts["snapshots"] == 4
    assert counts["served"] == 7
    assert counts["by_netns"]["blue"] == {"round_trips": 1, "snapshots": 1}
    assert counts["by_netns"][""] == {"round_trips": 2, "snapshots": 2}
    agent.close()


def test_a_served_answer_is_a_copy() -> None:
    host = ScriptedHost()
    agent = _agent(host, "unit-copy")
    agent.call("link_read", ifname="br0")["mtu"] = 9000
    agent.call("link_list")[0]["addresses"].append({"address": "10.0.0.1", "prefixlen": 8})
    assert agent.call("link_read", ifname="br0") == LINK
    assert agent.call("link_list") == [LINK]
    agent.close()


def test_a_copy_of_what_is_not_plain_data_is_a_deep_copy() -> None:
    inner = Marker([1])
    copied = _copy_of({"links": [inner]})
    assert copied["links"][0] is not inner
    assert copied["links"][0].value == [1]


class Marker:
    def __init__(self, value: list[int]) -> None:
        self.value = value


def test_what_a_snapshot_cannot_answer_goes_to_the_host() -> None:
    host = ScriptedHost()
    agent = _agent(host, "unit-miss")
    # A sysctl the snapshot did not read, an argument the agent would refuse, an
    # op no snapshot answers, a read in a gone namespace that fails there.
    assert agent.call("sysctl_read", key="net.ipv4.conf.all.rp_filter") == {
        "from_host": "sysctl_read"
    }
    assert agent.call("link_read", ifname="bad name") == {"from_host": "link_read"}
    assert agent.call("route_get", dst="10.0.0.1") == {"from_host": "route_get"}
    assert agent.call("link_list", netns="gone") == {"from_host": "link_list"}
    # A batch is served whole or sent whole.
    both = [Op(op="link_read", args={"ifname": "br0"}), Op(op="route_get", args={"dst": "1.1.1.1"})]
    assert agent.batch(both) == [{"from_host": "link_read"}, {"from_host": "route_get"}]
    assert stats.current()["unit-miss"]["writes"] == 0
    agent.close()


def test_after_the_first_change_every_read_goes_to_the_host() -> None:
    host = ScriptedHost()
    agent = _agent(host, "unit-change")
    assert agent.call("link_read", ifname="br0") == LINK
    agent.call("link_set", ifname="br0", up=True)
    assert agent.call("link_read", ifname="br0") == {"from_host": "link_read"}
    assert agent.call("link_list", netns="blue") == {"from_host": "link_list"}
    assert host.sent("snapshot") == 1
    counts = stats.current()["unit-change"]
    assert counts["writes"] == 1
    assert counts["served"] == 1
    agent.close()


def test_a_change_through_another_connection_to_the_host_counts_too() -> None:
    first, second = ScriptedHost(), ScriptedHost()
    one, other = _agent(first, "unit-shared"), _agent(second, "unit-shared")
    assert other.call("link_read", ifname="br0") == LINK
    one.call("link_delete", ifname="br0", owner="x")
    assert other.call("link_read", ifname="br0") == {"from_host": "link_read"}
    one.close()
    other.close()


def test_concurrent_first_reads_share_one_snapshot() -> None:
    hold = threading.Event()
    host = ScriptedHost(hold_snapshots=hold)
    agent = _agent(host, "unit-concurrent")
    answers: list[Any] = []
    threads = [
        threading.Thread(target=lambda: answers.append(agent.call("link_read", ifname="br0")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    # All four are waiting on the one snapshot request in flight.
    for _ in range(100):
        if host.requests:
            break
        threading.Event().wait(0.01)
    hold.set()
    for thread in threads:
        thread.join(10)
    assert answers == [LINK] * 4
    assert host.sent("snapshot") == 1
    assert len(host.requests) == 1
    agent.close()


def test_a_failed_snapshot_sends_the_reads_to_the_host() -> None:
    host = ScriptedHost()
    host.fail_snapshots = True
    agent = _agent(host, "unit-failed")
    assert agent.call("link_read", ifname="br0") == {"from_host": "link_read"}
    assert agent.call("link_read", ifname="br0") == {"from_host": "link_read"}
    assert host.sent("snapshot") == 1  # not asked again for every read
    agent.close()


def test_without_serve_reads_every_read_is_a_round_trip() -> None:
    host = ScriptedHost()
    agent = Agent(host="unit-plain", channel=host, stdout=host, info={}, default_timeout=5)
    assert agent.call("link_read", ifname="br0") == {"from_host": "link_read"}
    assert host.sent("snapshot") == 0
    agent.close()


def test_counts_are_appended_to_the_stats_file(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "stats.jsonl"
    monkeypatch.setenv(stats.ENV, str(path))
    monkeypatch.setattr(stats, "_written", [])
    stats.ssh_opened("unit-file")
    stats.round_trip("unit-file", netns="blue", ops=3, write=True)
    stats.write()
    stats.write()  # once per process
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    mine = [line for line in lines if line["host"] == "unit-file"]
    assert len(mine) == 1
    assert mine[0]["ssh_connections"] == 1
    assert mine[0]["round_trips"] == 1
    assert mine[0]["ops"] == 3
    assert mine[0]["writes"] == 1
    assert mine[0]["by_netns"] == {"blue": {"round_trips": 1, "snapshots": 0}}


def test_a_lost_agent_fails_reads_as_before() -> None:
    host = ScriptedHost()
    agent = _agent(host, "unit-lost")
    agent.close()
    with pytest.raises(errors.AgentLost):
        agent.call("link_read", ifname="br0")


def test_the_client_knows_as_reads_exactly_the_ops_the_agent_runs_without_a_change() -> None:
    # A mutating op taken for a read would leave snapshots serving a changed host.
    assert {name for name, spec in OPS.items() if not spec.mutating} == set(READS)


def test_a_reads_op_counts_in_the_namespace_of_its_reads() -> None:
    host = ScriptedHost()
    agent = Agent(host="unit-reads", channel=host, stdout=host, info={}, default_timeout=5)
    asked = [{"op": "route_read", "args": {"netns": "blue", "dst": "10.0.0.0/8"}}]
    agent.call("reads", ops=asked)
    assert stats.current()["unit-reads"]["by_netns"] == {"blue": {"round_trips": 1, "snapshots": 0}}
    agent.close()
