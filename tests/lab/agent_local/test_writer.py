"""The writer thread's sockets in other namespaces, kept between its requests,
and the ``reads`` op that lets a change read its object back in its own batch."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hostnet.agent import context, linkdel, ops, rtnl
from hostnet.agent.args import Args
from hostnet.agent.context import KEEP_IDLE
from hostnet.agent_client import Agent
from hostnet.protocol import Op
from tests.lab.agent_local.localagent import (
    OWNER,
    PREFIX,
    failure,
    in_ns,
    netns_names,
    sh,
)

pytestmark = pytest.mark.lab


def _names(ns: str) -> list[str]:
    """The namespace's link names, in ifindex order."""
    lines = in_ns(ns, "ip", "-o", "link", "show").stdout.splitlines()
    return [line.split(": ")[1].split("@")[0] for line in lines]


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def _bridge(name: str, ns: str) -> Op:
    return Op(op="link_ensure_bridge", args={"netns": ns, "ifname": name, "owner": OWNER})


def test_a_namespace_replaced_by_hand_between_two_changes_gets_the_second(agent: Agent) -> None:
    name = f"{PREFIX}-w1"
    sh("ip", "netns", "add", name)
    agent.batch([_bridge("wbr0", name)])  # the writer keeps its socket in there
    sh("ip", "netns", "del", name)
    sh("ip", "netns", "add", name)
    agent.batch([_bridge("wbr1", name)])
    assert _names(name) == ["lo", "wbr1"]
    sh("ip", "netns", "del", name)


def test_a_namespace_deleted_by_hand_is_not_kept_alive(agent: Agent, host: str) -> None:
    """A veth whose other end is in a namespace deleted by hand goes when that
    namespace really ends: the agent's kept socket must not hold it past its
    idle time."""
    name = f"{PREFIX}-w2"
    sh("ip", "netns", "add", name)
    in_ns(host, "ip", "link", "add", "wv0", "type", "veth", "peer", "name", "wv1", "netns", name)
    agent.batch([_bridge("wbr2", name)])
    sh("ip", "netns", "del", name)
    deadline = time.monotonic() + KEEP_IDLE + 8  # the idle time, the sweep's tick, slack
    while "wv0" in _names(host):
        assert time.monotonic() < deadline, "the deleted namespace is still alive"
        time.sleep(0.1)


def test_hostnet_deleting_a_namespace_it_made_and_making_it_again(agent: Agent) -> None:
    name = f"{PREFIX}-w3"
    agent.call("netns_ensure", name=name, owner=OWNER)
    agent.batch([_bridge("wbr3", name)])
    assert agent.call("netns_delete", name=name, owner=OWNER) == {"deleted": True}
    agent.call("netns_ensure", name=name, owner=OWNER)
    assert agent.call("link_read", netns=name, ifname="wbr3") is None
    agent.batch([_bridge("wbr3", name)])
    agent.call("netns_delete", name=name, owner=OWNER)
    assert name not in netns_names()


def test_the_writer_closes_its_kept_socket_when_it_deletes_the_namespace() -> None:
    """In this process, as the writer thread: a request's socket is kept after
    success, closed after a failure, and closed by ``forget`` (netns_delete)."""
    name = f"{PREFIX}-w4"
    path = f"/run/netns/{name}"
    sh("ip", "netns", "add", name)
    context.keep_sockets()
    try:
        ctx = context.Context(deadline=time.monotonic() + 10)
        net = ctx.net(name)
        ctx.close(ok=True)
        kept = context._kept()
        assert kept is not None and kept[path][2] is net
        again = context.Context(deadline=time.monotonic() + 10)
        assert again.net(name) is net  # the same socket, taken from the kept ones
        fd = net.ipr.fileno()
        again.forget(path)
        assert path not in kept and _closed(fd)
        again.close(ok=True)
        failed = context.Context(deadline=time.monotonic() + 10)
        fd = failed.net(name).ipr.fileno()
        failed.close(ok=False)
        assert path not in kept and _closed(fd)
    finally:
        context._KEPT.nets = None
        sh("ip", "netns", "del", name)


def test_reads_answer_inside_a_change_and_a_missing_object_is_an_answer(
    agent: Agent, child: str
) -> None:
    results = agent.batch(
        [
            _bridge("wbr4", child),
            Op(
                op="reads",
                args={
                    "ops": [
                        {"op": "link_read", "args": {"netns": child, "ifname": "wbr4"}},
                        {"op": "link_list", "args": {"netns": f"{PREFIX}-gone"}},
                        {"op": "link_read", "args": {"netns": child, "ifname": "nothere"}},
                    ]
                },
            ),
        ]
    )
    made, (found, gone, missing) = results
    assert found["ok"] and found["result"]["ifindex"] == made["ifindex"]
    assert gone["ok"] is False and gone["error"]["type"] == "NotFound"
    assert missing == {"ok": True, "result": None}
    agent.call("link_delete", netns=child, ifname="wbr4", owner=OWNER)


def test_reads_takes_read_ops_only_and_refuses_before_anything_runs(
    agent: Agent, child: str
) -> None:
    error = failure(
        agent,
        "reads",
        ops=[
            {"op": "link_read", "args": {"netns": child, "ifname": "lo"}},
            {"op": "link_delete", "args": {"netns": child, "ifname": "lo", "owner": OWNER}},
        ],
    )
    assert error.kind == "Invalid" and "not a read op" in error.message
    assert "lo" in _names(child)
    error = failure(agent, "reads", ops=[{"op": "link_read", "args": {"bogus": 1}}])
    assert error.kind == "Invalid" and "bogus" in error.message


def test_link_deletes_waiting_together_each_get_their_own_answer(
    agent: Agent, host: str, child: str, run_dir: Path
) -> None:
    """Lone link deletes queued behind the host lock run as one on the writer:
    each request still answers for itself (deleted, gone already, someone else's)."""
    for i in range(6):
        agent.call(
            "link_ensure_veth", ifname=f"dv{i}", peer_ifname=f"dp{i}", peer_netns=child, owner=OWNER
        )
    in_ns(host, "ip", "link", "add", "dforeign", "type", "bridge")
    asks = [{"ifname": f"dv{i}"} for i in range(6)] + [{"ifname": "dforeign"}, {"ifname": "dnone"}]
    with open(run_dir / "lock", "a+") as lock:  # the host lock, as another agent would hold it
        fcntl.flock(lock, fcntl.LOCK_EX)
        with ThreadPoolExecutor(max_workers=len(asks)) as pool:
            answers = [pool.submit(agent.call, "link_delete", owner=OWNER, **a) for a in asks]
            time.sleep(0.5)  # all of them in line on the writer behind the lock
            fcntl.flock(lock, fcntl.LOCK_UN)
            results = [answer.result(timeout=30) for answer in answers]
    assert results[:6] == [{"deleted": True}] * 6
    assert results[6]["deleted"] is False and results[6]["kept"]
    assert results[7] == {"deleted": False}
    assert _names(host).count("dforeign") == 1
    assert not [n for n in _names(host) if n.startswith("dv")]
    assert not [n for n in _names(child) if n.startswith("dp")]
    in_ns(host, "ip", "link", "del", "dforeign")


def _delete_arg(ns: str, ifname: str) -> Args:
    return Args("link_delete", {"netns": ns, "ifname": ifname, "owner": OWNER})


def _refused(_self: rtnl.Rtnl, _group: int) -> None:
    raise OSError(errno.EOPNOTSUPP, "group delete refused (as an old kernel might)")


def test_deletes_together_go_as_one_group_per_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process: several links of one namespace go by one group delete,
    never one by one; a lone one, and a kernel refusing the group, one by one."""
    name = f"{PREFIX}-d1"
    sh("ip", "netns", "add", name)
    try:
        ctx = context.Context(deadline=time.monotonic() + 10)
        for i in range(4):
            ops.OPS["link_ensure_bridge"].fn(
                ctx, Args("link_ensure_bridge", {"netns": name, "ifname": f"gb{i}", "owner": OWNER})
            )
        one_by_one: list[int] = []
        real_delete = rtnl.Rtnl.delete
        monkeypatch.setattr(rtnl.Rtnl, "delete", lambda self, index: one_by_one.append(index))
        requests = [
            Args("link_delete", {"netns": name, "ifname": f"gb{i}", "owner": OWNER})
            for i in range(3)
        ]
        answers = linkdel.delete_together(ctx, requests)
        assert answers == [({"deleted": True}, None)] * 3 and one_by_one == []
        assert _names(name) == ["lo", "gb3"]
        monkeypatch.setattr(rtnl.Rtnl, "delete", real_delete)
        monkeypatch.setattr(
            rtnl.Rtnl,
            "delete_group",
            lambda self, group: (_ for _ in ()).throw(OSError(errno.EOPNOTSUPP, "no")),
        )
        ops.OPS["link_ensure_bridge"].fn(
            ctx, Args("link_ensure_bridge", {"netns": name, "ifname": "gb4", "owner": OWNER})
        )
        requests = [
            Args("link_delete", {"netns": name, "ifname": f"gb{i}", "owner": OWNER}) for i in (3, 4)
        ]
        assert linkdel.delete_together(ctx, requests) == [({"deleted": True}, None)] * 2
        assert _names(name) == ["lo"]
        ctx.close()
    finally:
        sh("ip", "netns", "del", name)
