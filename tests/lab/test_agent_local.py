"""The on-host agent, run as a local process inside scratch network namespaces.

No SSH: the agent is started the way the transport starts it on a host (the
bootstrap under the host's interpreter, the payload built for that interpreter
on its stdin) inside a namespace hn-agt-<random>, and these tests talk JSON
lines to it. Every namespace and process they create is removed at the end.
Needs root; never skips.

The op suite runs three times, once per kind of host (VARIANTS), and every
answer must be the same: the controller's Python; a 3.8 host (pyroute2 0.8.1);
a 3.6 host in the lab's old-kernel mode (hostnet_lab.hosts: the netlink options
of 4.12/4.20 and memfd_create refused as a 3.10 kernel does, iptables-restore
without -w as in 1.4.21). The pyenv interpreters of this machine provide 3.6
and 3.8.

The agent is started with `nsenter --net` rather than `ip netns exec`: the
latter also gives it a slave mount namespace, so namespaces the agent creates
would not be visible here (on a host the agent shares the host's mounts).

Measurements (default host only) print with `pytest -s -k measure`.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hostnet.agent.owner import FOREIGN
from hostnet.payload import BOOTSTRAP, build_payload
from hostnet_lab import hosts as labhosts

pytestmark = pytest.mark.lab

PYTHON = Path(sys.executable)
RAND = secrets.token_hex(3)
PREFIX = f"hn-agt-{RAND}"
OWNER = "t1/test"
CREATED = {"changed": True, "created": True}
REWRITTEN = {"changed": True, "created": False}
SAME = {"changed": False, "created": False}


def sh(
    *argv: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{shlex.join(argv)} -> {done.returncode}: {done.stderr.strip()}")
    return done


def in_ns(ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *argv, check=check)


def netns_names() -> set[str]:
    return {line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line}


def saved(ns: str, table: str | None = None, *, tool: str = "iptables") -> list[str]:
    """iptables-save without comments and counters."""
    argv = [f"{tool}-save"] + (["-t", table] if table else [])
    out = in_ns(ns, *argv).stdout.splitlines()
    return [x.rsplit(" [", 1)[0] if x.startswith(":") else x for x in out if not x.startswith("#")]


class Agent:
    """One agent process; replies are matched to requests by id."""

    def __init__(
        self,
        ns: str,
        run_dir: Path,
        variant: Variant,
        *,
        path: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        env = dict(os.environ, HOSTNET_RUN_DIR=str(run_dir), **(extra or {}))
        env["PATH"] = ":".join(p for p in (path, variant.bin_dir, os.environ["PATH"]) if p)
        self._err = (run_dir / f"agent-{secrets.token_hex(2)}.stderr").open("wb")
        exe = variant.python
        argv = ["nsenter", f"--net=/run/netns/{ns}", exe, "-u", "-c", BOOTSTRAP, exe]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, env=env
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin, self.proc.stdout
        self.hello = json.loads(self._out.readline())
        payload = build_payload((self.hello["python"][0], self.hello["python"][1]))
        self._in.write(str(len(payload)).encode() + b"\n" + payload)
        self._in.flush()
        self.ready = json.loads(self._out.readline())
        self._replies: dict[Any, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._next = 0
        self._write = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._out:
            reply = json.loads(line)
            with self._cond:
                self._replies[reply["id"]] = reply
                self._cond.notify_all()

    def send_raw(self, data: bytes) -> None:
        with self._write:
            self._in.write(data)
            self._in.flush()

    def send(self, ops: list[tuple[str, dict[str, Any]]], timeout: float | None = None) -> int:
        with self._write:
            self._next += 1
            rid = self._next
        request: dict[str, Any] = {"id": rid, "ops": [{"op": o, "args": a} for o, a in ops]}
        if timeout is not None:
            request["timeout"] = timeout
        self.send_raw(json.dumps(request).encode() + b"\n")
        return rid

    def wait(self, rid: Any, timeout: float = 60) -> dict[str, Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: rid in self._replies, timeout=timeout):
                raise AssertionError(f"no reply to request {rid}")
            return self._replies.pop(rid)

    def batch(self, *ops: tuple[str, dict[str, Any]], timeout: float | None = None) -> Any:
        return self.wait(self.send(list(ops), timeout))

    def ok(self, op: str, **args: Any) -> Any:
        reply = self.batch((op, args))
        assert reply["ok"], reply
        return reply["results"][0]

    def err(self, op: str, **args: Any) -> dict[str, Any]:
        reply = self.batch((op, args))
        assert not reply["ok"], reply
        error: dict[str, Any] = reply["error"]
        return error

    def close(self) -> int:
        self._in.close()
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        self._err.close()
        return code


@dataclass(frozen=True)
class Variant:
    """A kind of host: the interpreter the agent starts with, and its session's bin dir."""

    name: str
    python: str
    bin_dir: str | None = None
    old_kernel: bool = False


# name -> (pyenv version or None for the controller's Python, old-kernel mode)
VARIANTS = {"default": (None, False), "py3.8": ("3.8", False), "py3.6-old-kernel": ("3.6", True)}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every op test on every kind of host; measurements on the default host only,
    tests of what only an old host does on the old-kernel host only."""
    if "variant" in metafunc.fixturenames:
        name = metafunc.function.__name__
        names = list(VARIANTS)
        if name.startswith("test_measure"):
            names = ["default"]
        elif name.startswith("test_old_host"):
            names = ["py3.6-old-kernel"]
        metafunc.parametrize("variant", names, indirect=True, scope="module")


@pytest.fixture(scope="module")
def variant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Variant:
    version, old_kernel = VARIANTS[request.param]
    if version is None:
        return Variant(request.param, str(PYTHON))
    # The files a lab host's session finds first on its PATH (hostnet_lab.hosts).
    bin_dir = tmp_path_factory.mktemp(f"bin-{request.param}")
    files = labhosts.bin_files(python=labhosts.pyenv_python(version), old_kernel=old_kernel)
    for name, text in files.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return Variant(request.param, str(bin_dir / "python3"), str(bin_dir), old_kernel)


@pytest.fixture(scope="module")
def host(variant: Variant) -> Iterator[str]:
    """The namespace the agent runs in (its "host"); a child "container" is PREFIX-c."""
    if os.geteuid() != 0:
        pytest.fail("agent lab tests need root (network namespaces)", pytrace=False)
    for name in (PREFIX, f"{PREFIX}-c"):
        sh("ip", "netns", "add", name)
        in_ns(name, "ip", "link", "set", "lo", "up")
    yield PREFIX
    for name in sorted(netns_names()):
        if name.startswith(PREFIX):
            sh("ip", "netns", "del", name, check=False)


@pytest.fixture(scope="module")
def child(host: str) -> str:
    return f"{host}-c"


@pytest.fixture(scope="module")
def run_dir(variant: Variant, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"hostnet-run-{variant.name}")


@pytest.fixture(scope="module")
def agent(host: str, run_dir: Path, variant: Variant) -> Iterator[Agent]:
    started = Agent(host, run_dir, variant)
    yield started
    assert started.close() == 0


@pytest.fixture(scope="module")
def holder(host: str) -> Iterator[int]:
    """A process in an unnamed namespace of its own (for pid: and path references)."""
    proc = subprocess.Popen(["unshare", "--net", "sleep", "600"])
    deadline = time.monotonic() + 5
    own = os.stat("/proc/self/ns/net").st_ino
    while os.stat(f"/proc/{proc.pid}/ns/net").st_ino == own:
        assert time.monotonic() < deadline, "unshare did not enter a new namespace"
        time.sleep(0.01)
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def wire(host: str, child: str) -> str:
    """A veth hnw0 (host, 192.168.77.1/24) <-> hnw1 (child, 192.168.77.2/24)."""
    in_ns(host, "ip", "link", "add", "hnw0", "type", "veth", "peer", "name", "hnw1", "netns", child)
    in_ns(host, "ip", "addr", "add", "192.168.77.1/24", "dev", "hnw0")
    in_ns(host, "ip", "link", "set", "hnw0", "up")
    in_ns(child, "ip", "addr", "add", "192.168.77.2/24", "dev", "hnw1")
    in_ns(child, "ip", "link", "set", "hnw1", "up")
    return "hnw0"


def links_in(ns: str) -> list[str]:
    return in_ns(ns, "ip", "-o", "link", "show").stdout.splitlines()


# --- protocol -------------------------------------------------------------------------------


def test_ready_line_and_info(agent: Agent, variant: Variant) -> None:
    ready = agent.ready
    assert ready["ready"] is True and ready["pid"] == agent.proc.pid
    assert ready["iptables"] in ("nft", "legacy") and ready["kernel"] == os.uname().release
    version = sh(variant.python, "-c", "import platform; print(platform.python_version())")
    assert ready["python"] == version.stdout.strip()
    # What the host takes is detected at start: the old-kernel host refuses all three.
    assert ready["netlink"] == {
        "ext_ack": not variant.old_kernel,
        "strict_check": not variant.old_kernel,
    }
    assert ready["iptables_restore_wait"] is not variant.old_kernel
    info = agent.ok("info")
    assert {k: v for k, v in ready.items() if k not in ("ready", "guards")} == info
    assert ready["guards"] == []  # none found at start
    assert agent.ok("ping") == {"pong": True}


def test_malformed_lines_and_bad_ops(agent: Agent) -> None:
    agent.send_raw(b"this is not json\n")
    bad = agent.wait(None)
    assert (
        bad["ok"] is False and bad["error"]["type"] == "Invalid" and bad["error"]["index"] is None
    )
    reply = agent.batch(("ping", {}), ("no_such_op", {}))
    assert reply["error"] == {**reply["error"], "index": 1, "type": "Invalid"}
    assert reply["results"] == []  # a malformed batch runs nothing
    assert agent.err("link_read", ifname="lo", bogus=1)["type"] == "Invalid"
    assert agent.err("link_read", ifname="x" * 16)["type"] == "Invalid"
    assert agent.err("link_set", ifname="lo", up="yes")["type"] == "Invalid"
    assert agent.err("link_set", ifname="lo", mtu=1400)["type"] == "Invalid"  # no owner


def test_batch_stops_at_first_failure(agent: Agent) -> None:
    reply = agent.batch(
        ("ping", {}),
        ("link_read", {"ifname": "lo"}),
        ("link_set", {"ifname": "nosuch0", "up": True}),
        ("link_ensure_bridge", {"ifname": "never0", "owner": OWNER}),
    )
    assert not reply["ok"] and len(reply["results"]) == 2
    assert reply["error"]["index"] == 2 and reply["error"]["op"] == "link_set"
    assert reply["error"]["type"] == "NotFound"
    assert agent.ok("link_read", ifname="never0") is None


def test_concurrent_requests_are_matched_by_id(agent: Agent, child: str) -> None:
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("ping", {}),
        ("link_list", {"netns": child}),
        ("link_ensure_bridge", {"ifname": "brc0", "owner": OWNER}),
        ("route_list", {}),
        ("sysctl_read", {"key": "net.ipv4.ip_forward"}),
    ]
    sent = {agent.send([kinds[i % len(kinds)]]): kinds[i % len(kinds)][0] for i in range(20)}
    assert len(sent) == 20
    for rid, op in sent.items():
        reply = agent.wait(rid)
        assert reply["id"] == rid and reply["ok"], (op, reply)
    assert agent.ok("link_delete", ifname="brc0", owner=OWNER) == {"deleted": True}


def test_timeout_and_busy(agent: Agent, run_dir: Path, wire: str) -> None:
    # Nobody has 192.168.77.9 on the wire: ping waits its full -W.
    reply = agent.batch(
        ("probe", {"kind": "ping", "address": "192.168.77.9", "timeout": 3}), timeout=0.5
    )
    assert reply["error"]["type"] == "Timeout", reply
    fd = os.open(run_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        busy = agent.batch(("link_ensure_bridge", {"ifname": "busy0", "owner": OWNER}), timeout=0.3)
        assert busy["error"]["type"] == "Busy", busy
        assert agent.batch(("link_list", {}), timeout=2)["ok"]  # reads take no lock
    finally:
        os.close(fd)
    assert agent.ok("link_read", ifname="busy0") is None


# --- links ----------------------------------------------------------------------------------


def test_bridge_ensure_twice_then_delete_twice(agent: Agent, host: str) -> None:
    first = agent.ok("link_ensure_bridge", ifname="hbr0", owner=OWNER, mtu=1400)
    again = agent.ok("link_ensure_bridge", ifname="hbr0", owner=OWNER, mtu=1400)
    assert first["ifindex"] == again["ifindex"] and first["kind"] == "bridge"
    assert again["alias"] == f"hostnet:{OWNER}" and again["mtu"] == 1400
    assert "alias hostnet:t1/test" in in_ns(host, "ip", "-d", "link", "show", "hbr0").stdout
    assert agent.ok("link_read", ifname="hbr0") == again
    assert agent.ok("link_delete", ifname="hbr0", owner=OWNER) == {"deleted": True}
    assert agent.ok("link_delete", ifname="hbr0", owner=OWNER) == {"deleted": False}
    assert agent.ok("link_read", ifname="hbr0") is None


def test_foreign_links_are_refused_and_untouched(agent: Agent, host: str) -> None:
    in_ns(host, "ip", "link", "add", "fbr0", "type", "bridge")
    in_ns(host, "ip", "link", "add", "fbr1", "type", "bridge")
    in_ns(host, "ip", "link", "set", "fbr1", "alias", "hostnet:someone/else")
    in_ns(host, "ip", "link", "add", "fve0", "type", "veth", "peer", "name", "fve1")
    before = links_in(host)
    assert agent.err("link_ensure_bridge", ifname="fbr0", owner=OWNER)["type"] == "NotOwned"
    assert agent.err("link_ensure_bridge", ifname="fbr1", owner=OWNER)["type"] == "NotOwned"
    assert agent.err("link_ensure_bridge", ifname="fve0", owner=OWNER)["type"] == "Exists"
    # A delete leaves what is not its own, and says whose it is.
    assert agent.ok("link_delete", ifname="fbr0", owner=OWNER) == {
        "deleted": False,
        "kept": FOREIGN,
    }
    assert agent.err("link_set", ifname="fbr0", owner=OWNER, up=True)["type"] == "NotOwned"
    assert links_in(host) == before
    # Without an owner a foreign link may be enslaved and set up (e.g. a NIC into a bridge).
    agent.ok("link_ensure_bridge", ifname="hbr1", owner=OWNER)
    port = agent.ok("link_set", ifname="fve0", master="hbr1", up=True, promisc=True)
    assert port["master"] == "hbr1" and port["up"] and port["promisc"]
    port = agent.ok("link_set", ifname="fve0", master="", promisc=False)
    assert port["master"] is None and not port["promisc"]
    for name in ("fbr0", "fbr1", "fve0"):
        in_ns(host, "ip", "link", "del", name)
    agent.ok("link_delete", ifname="hbr1", owner=OWNER)


def test_link_set_changes_only_what_differs(agent: Agent) -> None:
    agent.ok("link_ensure_bridge", ifname="hbr2", owner=OWNER)
    link = agent.ok(
        "link_set", ifname="hbr2", owner=OWNER, up=True, mtu=1300, mac="02:00:00:00:00:42"
    )
    assert link["up"] and link["mtu"] == 1300 and link["mac"] == "02:00:00:00:00:42"
    same = agent.batch(("link_set", {"ifname": "hbr2", "owner": OWNER, "up": True, "mtu": 1300}))
    assert same["ok"] and same["results"][0]["ifindex"] == link["ifindex"]
    assert agent.err("link_set", ifname="hbr2", owner="t1/other", up=False)["type"] == "NotOwned"
    assert agent.err("link_set", ifname="hbr2", owner=OWNER, master="nosuch0")["type"] == "NotFound"
    agent.ok("link_delete", ifname="hbr2", owner=OWNER)


def test_veth_into_named_netns(agent: Agent, host: str, child: str, variant: Variant) -> None:
    agent.ok("link_ensure_bridge", ifname="hbr3", owner=OWNER)
    args = {"ifname": "hv0", "peer_ifname": "eth9", "peer_netns": child, "owner": OWNER}
    first = agent.ok("link_ensure_veth", **args, master="hbr3", up=True, mtu=1450)
    again = agent.ok("link_ensure_veth", **args, master="hbr3", up=True, mtu=1450)
    for key in ("link", "peer"):
        assert first[key]["ifindex"] == again[key]["ifindex"]
        assert again[key]["alias"] == f"hostnet:{OWNER}" and again[key]["mtu"] == 1450
    assert first["link"]["master"] == "hbr3" and first["link"]["up"] and first["peer"]["up"]
    assert first["link"]["peer_ifindex"] == first["peer"]["ifindex"]
    assert "eth9@" in in_ns(child, "ip", "-o", "link", "show", "eth9").stdout
    peer = agent.ok("link_read", netns=child, ifname="eth9")
    assert peer["ifindex"] == first["peer"]["ifindex"] and peer["kind"] == "veth"
    other = {**args, "peer_ifname": "eth8"}
    assert agent.err("link_ensure_veth", **other)["type"] == "Exists"
    error = agent.err("link_set", ifname="hbr3", owner=OWNER, master="hbr3")
    assert error["type"] == "Failed" and error["errno"] == errno.ELOOP, error
    # The kernel's own words come with extended acks (4.12+); before, only the errno's.
    said = "Too many levels of symbolic links" if variant.old_kernel else "bridge"
    assert said in error["message"], error
    assert agent.ok("link_delete", ifname="hv0", owner=OWNER) == {"deleted": True}
    assert agent.ok("link_delete", ifname="hv0", owner=OWNER) == {"deleted": False}
    assert agent.ok("link_read", netns=child, ifname="eth9") is None
    agent.ok("link_delete", ifname="hbr3", owner=OWNER)


def test_veth_refuses_a_taken_peer_name_and_creates_nothing(
    agent: Agent, host: str, child: str
) -> None:
    in_ns(child, "ip", "link", "add", "taken0", "type", "bridge")
    before_host, before_child = links_in(host), links_in(child)
    error = agent.err(
        "link_ensure_veth", ifname="hv1", peer_ifname="taken0", peer_netns=child, owner=OWNER
    )
    assert error["type"] == "NotOwned"
    assert links_in(host) == before_host and links_in(child) == before_child
    missing = agent.err(
        "link_ensure_veth", ifname="hv1", peer_ifname="p1", peer_netns=f"{PREFIX}-nope", owner=OWNER
    )
    assert missing["type"] == "NotFound" and links_in(host) == before_host
    in_ns(child, "ip", "link", "del", "taken0")


def test_veth_peer_by_pid_path_and_container(
    host: str, run_dir: Path, variant: Variant, holder: int, tmp_path: Path
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    docker = fake / "docker"
    # Stands in for `docker inspect --format {{.State.Pid}} NAME`.
    docker.write_text(
        "#!/bin/sh\n"
        f'[ "$4" = "c1" ] && {{ echo {holder}; exit 0; }}\n'
        'echo "Error: No such object: $4" >&2; exit 1\n'
    )
    docker.chmod(0o755)
    agent = Agent(host, run_dir, variant, path=str(fake))
    try:
        for n, ref in enumerate((f"pid:{holder}", f"/proc/{holder}/ns/net", "container:c1")):
            made = agent.ok(
                "link_ensure_veth",
                ifname=f"hp{n}",
                peer_ifname=f"cp{n}",
                peer_netns=ref,
                owner=OWNER,
            )
            seen = agent.ok("link_read", netns=ref, ifname=f"cp{n}")
            assert seen["ifindex"] == made["peer"]["ifindex"], ref
            resolved = agent.ok("netns_resolve", ref=ref)
            assert resolved["exists"] and resolved["path"] == f"/proc/{holder}/ns/net"
        assert agent.ok("netns_resolve", ref="container:gone") == {
            "path": None,
            "exists": False,
            "inode": None,
        }
        assert agent.ok("link_read", netns="container:gone", ifname="cp0") is None
        error = agent.err("link_list", netns="container:gone")
        assert error["type"] == "NotFound" and "gone" in error["message"]
        for n in range(3):
            assert agent.ok("link_delete", ifname=f"hp{n}", owner=OWNER) == {"deleted": True}
    finally:
        agent.close()


def test_vxlan_ensure_twice_and_conflict(agent: Agent, host: str, wire: str) -> None:
    args = {"ifname": "hvx0", "owner": OWNER, "vni": 42, "local": "192.168.77.1"}
    args |= {"remote": "192.168.77.2", "dev": wire, "mtu": 1400}
    first = agent.ok("link_ensure_vxlan", **args)
    again = agent.ok("link_ensure_vxlan", **args)
    assert first["ifindex"] == again["ifindex"] and again["kind"] == "vxlan"
    assert again["vxlan"] == {
        "id": 42,
        "local": "192.168.77.1",
        "remote": "192.168.77.2",
        "group": None,
        "port": 4789,
        "dev": wire,
        "ttl": 0,
        "learning": True,
    }
    assert "dstport 4789" in in_ns(host, "ip", "-d", "link", "show", "hvx0").stdout
    assert agent.err("link_ensure_vxlan", **{**args, "vni": 43})["type"] == "Exists"
    bad = agent.err("link_ensure_vxlan", **{**args, "group": "239.1.1.1"})
    assert bad["type"] == "Invalid"
    assert agent.ok("link_delete", ifname="hvx0", owner=OWNER) == {"deleted": True}


def test_reads_of_missing_things_return_null_and_create_nothing(agent: Agent) -> None:
    before = netns_names()
    bogus = f"{PREFIX}-bogus"
    assert agent.ok("link_read", ifname="nosuch0") is None
    assert agent.ok("link_read", netns=bogus, ifname="lo") is None
    assert agent.ok("route_read", netns=bogus, dst="default") is None
    assert agent.ok("sysctl_read", netns=bogus, key="net.ipv4.ip_forward") is None
    assert agent.ok("sysctl_read", key="net.ipv4.no_such_key") is None
    assert agent.ok("ipt_read_rules", netns=bogus, table="filter") is None
    assert agent.ok("netns_resolve", ref=bogus)["exists"] is False
    assert agent.ok("link_delete", netns=bogus, ifname="x", owner=OWNER) == {"deleted": False}
    assert agent.err("link_ensure_bridge", netns=bogus, ifname="x", owner=OWNER)["type"] == (
        "NotFound"
    )
    assert agent.err("link_list", netns=f"pid:{2**22 + 7}")["type"] == "NotFound"
    # Other namespaces may come and go meanwhile (a lab next door); ours did not.
    assert {n for n in netns_names() if n.startswith(PREFIX)} == {
        n for n in before if n.startswith(PREFIX)
    }
    assert not os.path.exists(f"/run/netns/{bogus}")


# --- addresses and routes -------------------------------------------------------------------


def test_addresses(agent: Agent, host: str) -> None:
    agent.ok("link_ensure_bridge", ifname="hbr4", owner=OWNER)
    assert agent.ok("addr_ensure", ifname="hbr4", address="192.168.5.1/24") == {"changed": True}
    assert agent.ok("addr_ensure", ifname="hbr4", address="192.168.5.1/24") == {"changed": False}
    assert agent.ok("addr_ensure", ifname="hbr4", address="fd00:5::1/64") == {"changed": True}
    listed = agent.ok("addr_list", ifname="hbr4")
    assert {a["address"] for a in listed} == {"192.168.5.1/24", "fd00:5::1/64"}
    assert agent.ok("link_read", ifname="hbr4")["addresses"] == ["192.168.5.1/24", "fd00:5::1/64"]
    replaced = agent.ok(
        "addr_replace",
        ifname="hbr4",
        addresses=["192.168.5.2/24", "192.168.6.1/24"],
        keep=["fd00:5::1/64"],
    )
    assert replaced == {
        "added": ["192.168.5.2/24", "192.168.6.1/24"],
        "removed": ["192.168.5.1/24"],
    }
    # Removing the primary 192.168.5.1 dropped the secondary 192.168.5.2; it is back.
    shown = in_ns(host, "ip", "-o", "addr", "show", "dev", "hbr4").stdout
    assert "192.168.5.2/24" in shown and "192.168.6.1/24" in shown and "fd00:5::1/64" in shown
    assert agent.ok("addr_delete", ifname="hbr4", address="192.168.6.1/24") == {"changed": True}
    assert agent.ok("addr_delete", ifname="hbr4", address="192.168.6.1/24") == {"changed": False}
    assert agent.ok("addr_delete", ifname="nosuch0", address="192.168.6.1/24") == {"changed": False}
    assert agent.err("addr_ensure", ifname="hbr4", address="192.168.5.300/24")["type"] == "Invalid"
    agent.ok("link_delete", ifname="hbr4", owner=OWNER)


def test_instance_owners_take_over_refuse_and_adopt(agent: Agent, host: str) -> None:
    """The claim rule on real links and routes: a renamed or replaced resource of the
    same stack takes the object over, another stack is refused by name unless it
    adopts, and a delete removes only its own."""
    first = {"stack": "seed/lab", "resource": "br", "token": "000000000001"}
    renamed = {"stack": "seed/lab", "resource": "br-new", "token": "000000000002"}
    other = {"stack": "seed/prod", "resource": "br", "token": "000000000003"}
    agent.ok("link_ensure_bridge", ifname="ibr0", owner=first)
    index = agent.ok("link_read", ifname="ibr0")["ifindex"]
    taken = agent.ok("link_ensure_bridge", ifname="ibr0", owner=renamed)
    assert taken["ifindex"] == index and taken["owner"] == renamed
    assert any(": ibr0:" in line for line in links_in(host))
    assert agent.ok("link_delete", ifname="ibr0", owner=first) == {
        "deleted": False,
        "kept": "stack 'seed/lab', resource 'br-new'",
    }
    refused = agent.err("link_ensure_bridge", ifname="ibr0", owner=other)
    assert refused["type"] == "NotOwned"
    assert "stack 'seed/lab', resource 'br-new'" in refused["message"]
    assert "adopt=True" in refused["message"]
    adopted = agent.ok("link_ensure_bridge", ifname="ibr0", owner=other, adopt=True)
    assert adopted["ifindex"] == index and adopted["owner"] == other
    assert agent.ok("link_delete", ifname="ibr0", owner=other) == {"deleted": True}
    # Routes carry their owner in a record under the run dir.
    agent.ok("link_ensure_bridge", ifname="ibr1", owner=first)
    agent.ok("link_set", ifname="ibr1", owner=first, up=True)
    route = {"dst": "10.53.0.0/16", "dev": "ibr1"}
    agent.ok("route_ensure", **route, owner=first)
    assert agent.ok("route_ensure", **route, owner=renamed)["owner"] == renamed
    assert agent.ok("route_read", dst="10.53.0.0/16")["owner"] == renamed
    assert agent.err("route_ensure", **route, owner=other)["type"] == "NotOwned"
    assert agent.ok("route_delete", dst="10.53.0.0/16", owner=first)["deleted"] is False
    assert agent.ok("route_delete", dst="10.53.0.0/16", owner=renamed) == {"deleted": True}
    # A mark written before instance ownership moves to the instance asking with it.
    in_ns(host, "ip", "link", "set", "ibr1", "alias", "hostnet:h1/bridge/ibr1")
    assert agent.err("link_ensure_bridge", ifname="ibr1", owner=first)["type"] == "NotOwned"
    moved = agent.ok("link_ensure_bridge", ifname="ibr1", owner=first, legacy="h1/bridge/ibr1")
    assert moved["owner"] == first
    agent.ok("link_delete", ifname="ibr1", owner=first)


def test_routes(agent: Agent, host: str) -> None:
    agent.ok("link_ensure_bridge", ifname="hbr5", owner=OWNER)
    agent.ok("link_set", ifname="hbr5", owner=OWNER, up=True)
    agent.ok("addr_ensure", ifname="hbr5", address="192.168.8.1/24")
    agent.ok("addr_ensure", ifname="hbr5", address="fd00:8::1/64")
    first = agent.ok("route_ensure", dst="10.50.0.0/16", via="192.168.8.254", owner=OWNER)
    again = agent.ok("route_ensure", dst="10.50.0.0/16", via="192.168.8.254", owner=OWNER)
    assert first.pop("created") is True and again.pop("created") is False
    assert first == again and first["proto"] == 77 and first["dev"] == "hbr5"
    assert first["owner"] == {"id": OWNER}
    moved = agent.ok(
        "route_ensure", dst="10.50.0.0/16", via="192.168.8.253", src="192.168.8.1", owner=OWNER
    )
    assert moved["via"] == "192.168.8.253" and moved["src"] == "192.168.8.1"
    shown = in_ns(host, "ip", "route", "show", "10.50.0.0/16").stdout.strip()
    assert shown == "10.50.0.0/16 via 192.168.8.253 dev hbr5 proto 77 src 192.168.8.1"
    link = agent.ok(
        "route_ensure", dst="10.51.0.0/16", dev="hbr5", metric=10, table=100, owner=OWNER
    )
    del link["created"]
    assert link["scope"] == "link" and link["table"] == 100 and link["metric"] == 10
    assert agent.ok("route_read", dst="10.51.0.0/16", table=100) is None  # metric 0
    assert agent.ok("route_read", dst="10.51.0.0/16", table=100, metric=10) == link
    six = agent.ok("route_ensure", dst="default", via="fd00:8::fe", owner=OWNER)
    assert six["family"] == 6 and six["metric"] == 1024 and six["dst"] == "default"
    four = agent.ok("route_ensure", dst="default", via="192.168.8.254", metric=5, owner=OWNER)
    assert four["family"] == 4
    listed = agent.ok("route_list")
    assert {(r["dst"], r["family"]) for r in listed} >= {("10.50.0.0/16", 4), ("default", 6)}
    assert any(r["proto"] != 77 for r in listed)  # the kernel's connected routes are shown too
    # A route hostnet did not make is refused and left alone.
    in_ns(host, "ip", "route", "add", "10.52.0.0/16", "via", "192.168.8.254", "proto", "static")
    error = agent.err("route_ensure", dst="10.52.0.0/16", via="192.168.8.253", owner=OWNER)
    assert error["type"] == "NotOwned"
    kept = agent.ok("route_delete", dst="10.52.0.0/16", owner=OWNER)
    assert kept == {"deleted": False, "kept": FOREIGN}
    assert "via 192.168.8.254" in in_ns(host, "ip", "route", "show", "10.52.0.0/16").stdout
    in_ns(host, "ip", "route", "del", "10.52.0.0/16")
    for args in (
        {"dst": "10.50.0.0/16"},
        {"dst": "10.51.0.0/16", "table": 100, "metric": 10},
        {"dst": "default", "family": 6},
        {"dst": "default", "metric": 5},
    ):
        assert agent.ok("route_delete", **args, owner=OWNER) == {"deleted": True}, args
        assert agent.ok("route_delete", **args, owner=OWNER) == {"deleted": False}, args
    error = agent.err("route_ensure", dst="10.50.0.1/16", via="192.168.8.1", owner=OWNER)
    assert error["type"] == "Invalid"
    agent.ok("link_delete", ifname="hbr5", owner=OWNER)


def test_uplink_takeover_and_release(agent: Agent, host: str, child: str) -> None:
    in_ns(host, "ip", "link", "add", "hnu0", "type", "veth", "peer", "name", "hnu1", "netns", child)
    in_ns(host, "ip", "addr", "add", "192.168.79.1/24", "dev", "hnu0")
    in_ns(host, "ip", "link", "set", "hnu0", "up")
    in_ns(child, "ip", "addr", "add", "192.168.79.2/24", "dev", "hnu1")
    in_ns(child, "ip", "link", "set", "hnu1", "up")
    in_ns(host, "ip", "route", "add", "10.79.0.0/16", "via", "192.168.79.2", "metric", "5")
    mac = agent.ok("link_read", ifname="hnu0")["mac"]
    try:
        agent.ok("link_ensure_bridge", ifname="hbu0", owner=OWNER)
        takeover = {"bridge": "hbu0", "nic": "hnu0", "owner": OWNER}
        taken = agent.ok("uplink_takeover", **takeover)
        assert taken == {
            "changed": True,
            "addresses": ["192.168.79.1/24"],
            "routes": ["10.79.0.0/16 via 192.168.79.2"],
        }
        assert agent.ok("uplink_takeover", **takeover)["changed"] is False
        bridge = agent.ok("link_read", ifname="hbu0")
        assert bridge["mac"] == mac and bridge["up"] and bridge["addresses"] == ["192.168.79.1/24"]
        nic = agent.ok("link_read", ifname="hnu0")
        assert nic["master"] == "hbu0" and nic["addresses"] == []
        route = in_ns(host, "ip", "route", "show", "10.79.0.0/16").stdout.strip()
        assert route == "10.79.0.0/16 via 192.168.79.2 dev hbu0 metric 5"
        assert agent.ok("probe", kind="ping", address="192.168.79.2")["ok"]
        released = agent.ok("uplink_release", **takeover)
        assert released["deleted"] is True and released["routes"] == taken["routes"]
        assert released["nic"]["master"] is None
        assert released["nic"]["addresses"] == ["192.168.79.1/24"]
        route = in_ns(host, "ip", "route", "show", "10.79.0.0/16").stdout.strip()
        assert route == "10.79.0.0/16 via 192.168.79.2 dev hnu0 metric 5"
        assert agent.ok("link_read", ifname="hbu0") is None
        assert agent.ok("probe", kind="ping", address="192.168.79.2")["ok"]
    finally:
        in_ns(host, "ip", "link", "del", "hnu0", check=False)
        in_ns(host, "ip", "link", "del", "hbu0", check=False)


# --- namespaces and sysctl ------------------------------------------------------------------


def test_named_netns(agent: Agent, host: str) -> None:
    name = f"{PREFIX}-n1"
    assert agent.ok("netns_ensure", name=name, owner=OWNER) == {"created": True}
    assert agent.ok("netns_ensure", name=name, owner=OWNER) == {"created": False}
    assert name in netns_names()
    lo = in_ns(name, "ip", "-d", "link", "show", "lo").stdout
    assert "alias hostnet:t1/test" in lo and "UP" in lo.split(">")[0]
    listed = {n["name"]: n["owner"] for n in agent.ok("netns_list")}
    assert listed[name] == {"id": OWNER} and listed[host] is None
    assert agent.ok("netns_read", name=name) == {"name": name, "owner": {"id": OWNER}}
    assert agent.ok("netns_read", name=host) == {"name": host, "owner": None}
    assert agent.ok("netns_read", name=f"{PREFIX}-bogus") is None
    assert agent.err("netns_ensure", name=host, owner=OWNER)["type"] == "NotOwned"
    assert agent.ok("netns_delete", name=host, owner=OWNER)["kept"] == FOREIGN
    assert agent.ok("netns_delete", name=name, owner="t1/other")["deleted"] is False
    assert agent.ok("netns_resolve", ref=name)["path"] == f"/run/netns/{name}"
    # One batch: create, put a bridge inside, delete, create again (no stale socket).
    reply = agent.batch(
        ("link_ensure_bridge", {"netns": name, "ifname": "nbr0", "owner": OWNER}),
        ("netns_delete", {"name": name, "owner": OWNER}),
        ("netns_ensure", {"name": name, "owner": OWNER}),
        ("link_read", {"netns": name, "ifname": "nbr0"}),
    )
    assert reply["ok"] and reply["results"][1:] == [{"deleted": True}, {"created": True}, None]
    assert agent.ok("netns_delete", name=name, owner=OWNER) == {"deleted": True}
    assert agent.ok("netns_delete", name=name, owner=OWNER) == {"deleted": False}
    assert name not in netns_names() and host in netns_names()
    assert agent.err("netns_ensure", name="../etc", owner=OWNER)["type"] == "Invalid"


def test_sysctl_write_and_restore(agent: Agent, host: str, child: str, run_dir: Path) -> None:
    key = "net.ipv4.conf.all.forwarding"
    for ns in (None, child):
        where = host if ns is None else child
        assert agent.ok("sysctl_read", netns=ns, key=key) == "0"
        assert agent.ok("sysctl_write", netns=ns, key=key, value="1", owner=OWNER) == {
            "previous": "0",
            "created": True,
        }
        assert agent.ok("sysctl_write", netns=ns, key=key, value=1, owner=OWNER) == {
            "previous": "0",
            "created": False,
        }
        assert in_ns(where, "sysctl", "-n", key).stdout.strip() == "1"
        error = agent.err("sysctl_write", netns=ns, key=key, value="0", owner="t1/other")
        assert error["type"] == "NotOwned"
        assert agent.ok("sysctl_restore", netns=ns, key=key, owner=OWNER) == {"restored": "0"}
        assert agent.ok("sysctl_restore", netns=ns, key=key, owner=OWNER) == {"restored": None}
        assert in_ns(where, "sysctl", "-n", key).stdout.strip() == "0"
    assert not list((run_dir / "sysctl").rglob("net.*"))
    for bad in ("net..ipv4", "net/ipv4/ip_forward", "../../etc/passwd"):
        assert agent.err("sysctl_read", key=bad)["type"] == "Invalid"
    error = agent.err("sysctl_write", key="net.ipv4.nope", value="1", owner=OWNER)
    assert error["type"] == "NotFound"
    error = agent.err("sysctl_write", key="net.ipv4.ip_forward", value="abc", owner=OWNER)
    assert error["type"] == "Failed" and error["errno"] == 22, error
    assert agent.ok("sysctl_read", key="net.ipv4.ip_forward") == "0"
    assert not list((run_dir / "sysctl").rglob("net.*"))


# --- iptables -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["nft", "legacy"])
def test_iptables_round_trip_leaves_foreign_rules_alone(
    host: str, run_dir: Path, variant: Variant, mode: str
) -> None:
    tool = f"iptables-{mode}"
    agent = Agent(host, run_dir, variant, extra={"HOSTNET_IPTABLES": mode})
    try:
        assert agent.ready["iptables"] == mode
        _iptables_round_trip(agent, host, tool)
    finally:
        agent.close()
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
    assert agent.ok("ipt_ensure_chain", **chain) == {"created": True, "changed": True}
    assert agent.ok("ipt_ensure_chain", **chain) == {"created": False, "changed": False}
    forward = saved(host, "filter", tool=tool)
    assert forward.count("-A FORWARD -j HOSTNET-FWD") == 1
    assert forward.index("-A FORWARD -j HOSTNET-FWD") < forward.index("-A FORWARD -j DOCKER-USER")
    ssh = ["-d", "192.168.5.0/24", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"]
    est = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]
    rule = {"table": "filter", "chain": "HOSTNET-FWD"}
    assert agent.ok("ipt_ensure_rule", **rule, rule=ssh, owner="h1/fw/ssh") == CREATED
    assert agent.ok("ipt_ensure_rule", **rule, rule=est, owner="h1/fw/est") == CREATED
    assert agent.ok("ipt_ensure_rule", **rule, rule=ssh, owner="h1/fw/ssh") == SAME
    assert agent.ok("ipt_ensure_rule", **rule, rule=est, owner="h1/fw/est") == SAME
    wider = ["-d", "192.168.0.0/16", *ssh[2:]]
    assert agent.ok("ipt_ensure_rule", **rule, rule=wider, owner="h1/fw/ssh") == REWRITTEN
    read = agent.ok("ipt_read_rules", table="filter")
    owners = [(r["owner"]["id"], r["position"]) for r in read]
    assert owners == [("h1/fw/ssh", 1), ("h1/fw/est", 2)]
    assert read[0]["rule"] == ["-d", "192.168.0.0/16", "-p", "tcp", "-m", "tcp", "--dport", "22",
                               "-j", "ACCEPT"]  # fmt: skip
    nat = ["-s", "192.168.5.0/24", "!", "-o", "hbr9", "-j", "MASQUERADE"]
    nat_rule = {"table": "nat", "chain": "POSTROUTING", "owner": "h1/nat/n1"}
    assert agent.ok("ipt_ensure_rule", **nat_rule, rule=nat) == CREATED
    assert agent.ok("ipt_ensure_rule", **nat_rule, rule=nat, position=1) == SAME
    assert agent.ok("ipt_read_rules", table="nat", chain="POSTROUTING")[0]["owner"] == {
        "id": "h1/nat/n1"
    }
    for bad in (["-A", "FORWARD"], ["-j", "ACCEPT", "--comment", "x"], ["-F"], ["a\nb"]):
        assert agent.err("ipt_ensure_rule", **rule, rule=bad, owner="h1/x")["type"] == "Invalid"
    assert (
        agent.err("ipt_ensure_chain", table="filter", chain="DOCKER-USER", parent="FORWARD")["type"]
        == "Invalid"
    )
    # Still holding rules: the chain stays, and that is not an error.
    assert agent.ok("ipt_delete_chain", **chain) == {"deleted": False, "remaining": 2}
    for owner in ("h1/fw/ssh", "h1/fw/est"):
        assert agent.ok("ipt_delete_rule", **rule, owner=owner) == {"deleted": True}
        assert agent.ok("ipt_delete_rule", **rule, owner=owner) == {"deleted": False}
    assert agent.ok("ipt_delete_rule", table="nat", chain="POSTROUTING", owner="h1/nat/n1") == {
        "deleted": True
    }
    assert agent.ok("ipt_delete_chain", **chain) == {"deleted": True}
    assert agent.ok("ipt_delete_chain", **chain) == {"deleted": False}
    assert saved(host, tool=tool) == before
    assert agent.ok("ipt_read_rules", table="filter") == []
    dumped = agent.ok("dump")["rules"]
    assert "-A FORWARD -s 10.9.0.0/16 -j DROP" in dumped["filter"]


def test_old_host_restore_without_wait_honours_both_xtables_locks(
    agent: Agent, host: str, variant: Variant
) -> None:
    """iptables-restore without -w runs under the locks `iptables -w` takes: the
    flock of /run/xtables.lock and upstream 1.4.x's abstract socket @xtables."""
    assert agent.ready["iptables_restore_wait"] is False
    rule = {"table": "filter", "chain": "FORWARD", "owner": "h1/fw/lock"}
    spec = ["-s", "10.77.0.0/16", "-j", "ACCEPT"]
    assert agent.ok("ipt_ensure_rule", **rule, rule=spec) == CREATED
    fd = os.open("/run/xtables.lock", os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        busy = agent.batch(("ipt_delete_rule", rule), timeout=0.5)
        assert busy["error"]["type"] == "Busy", busy
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
        busy = agent.batch(("ipt_delete_rule", rule), timeout=0.5)
        assert busy["error"]["type"] == "Busy", busy
    finally:
        holder.kill()
        holder.wait()
    assert any("10.77.0.0/16" in x for x in saved(host, "filter"))
    assert agent.ok("ipt_delete_rule", **rule) == {"deleted": True}
    assert not any("10.77.0.0/16" in x for x in saved(host, "filter"))


# --- probes and dumps -----------------------------------------------------------------------


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
    ping = agent.ok("probe", kind="ping", address="192.168.77.2")
    assert ping["ok"] and "1 received" in ping["detail"]
    back = agent.ok("probe", netns=child, kind="ping", address="192.168.77.1", timeout=1)
    assert back["ok"]
    lost = agent.ok("probe", kind="ping", address="192.168.77.9", timeout=1)
    assert not lost["ok"] and "0 received" in lost["detail"]
    tcp = agent.ok("probe", kind="tcp", address="192.168.77.2", port=banner_server)
    assert tcp == {**tcp, "ok": True, "banner": "SSH-2.0-hostnet-test"}
    closed = agent.ok("probe", kind="tcp", address="192.168.77.2", port=2223)
    assert not closed["ok"] and "refused" in closed["detail"].lower()
    local = agent.ok("probe", netns=child, kind="tcp", address="192.168.77.2", port=banner_server)
    assert local["ok"] and local["banner"] == "SSH-2.0-hostnet-test"
    assert agent.err("probe", kind="ping", address="not-an-ip")["type"] == "Invalid"
    assert agent.err("probe", kind="udp", address="192.168.77.2")["type"] == "Invalid"


def test_dump_all(agent: Agent, host: str, child: str, wire: str) -> None:
    snapshot = agent.ok("dump_all")
    assert {n["name"] for n in snapshot["host"]["netns"]} >= {host, child}
    assert wire in {link["ifname"] for link in snapshot["host"]["links"]}
    inside = snapshot["netns"][child]
    hnw1 = next(link for link in inside["links"] if link["ifname"] == "hnw1")
    assert hnw1["addresses"] == ["192.168.77.2/24"] and hnw1["kind"] == "veth"
    assert any(r["dst"] == "192.168.77.0/24" for r in inside["routes"])
    assert inside["sysctl"]["net.ipv4.ip_forward"] == "0" and inside["netns"] == []
    assert snapshot["netns"][host]["links"] == snapshot["host"]["links"]


# --- measurements (printed, not asserted) ---------------------------------------------------


def _median_ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p90 {p90 * 1000:.2f} ms"


def test_measure_round_trips(agent: Agent) -> None:
    for _ in range(20):
        agent.ok("ping")
    samples, host_t = [], []
    for _ in range(300):
        start = time.perf_counter()
        reply = agent.batch(("ping", {}))
        samples.append(time.perf_counter() - start)
        host_t.append(reply["t"])
    print(f"\nagent no-op round trip (300): {_median_ms(samples)}; on host {_median_ms(host_t)}")
    samples, host_t = [], []
    bridge = {"ifname": "mbr0", "owner": OWNER}
    for _ in range(30):
        start = time.perf_counter()
        reply = agent.batch(("link_ensure_bridge", bridge), ("link_delete", bridge))
        samples.append(time.perf_counter() - start)
        host_t.append(reply["t"])
        assert reply["ok"], reply
    print(f"bridge create+delete (30): {_median_ms(samples)}; on host {_median_ms(host_t)}")


def _veth_ops(ns: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    common = {"netns": ns, "peer_netns": ns, "owner": "bench", "master": "mbr1", "up": True}
    return [
        ("link_ensure_veth", {**common, "ifname": f"va{i}", "peer_ifname": f"vb{i}"})
        for i in range(count)
    ]


def _ip_batch(ns: str, count: int) -> str:
    lines = []
    for i in range(count):
        lines += [f"link add va{i} type veth peer name vb{i}", f"link set va{i} master mbr1 up"]
        lines.append(f"link set vb{i} up")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("bridge_up", [True, False], ids=["bridge-up", "bridge-down"])
def test_measure_500_veths_vs_ip_batch(agent: Agent, bridge_up: bool) -> None:
    count, timings = 500, {}
    for tool in ("agent", "ip -batch"):
        ns = f"{PREFIX}-m{secrets.token_hex(2)}"
        sh("ip", "netns", "add", ns)
        try:
            sh("ip", "-n", ns, "link", "add", "mbr1", "type", "bridge")
            if bridge_up:
                sh("ip", "-n", ns, "link", "set", "mbr1", "up")
            start = time.perf_counter()
            if tool == "agent":
                reply = agent.wait(agent.send(_veth_ops(ns, count), timeout=300), timeout=300)
                assert reply["ok"], reply["error"]
            else:
                sh("ip", "-n", ns, "-batch", "-", stdin=_ip_batch(ns, count))
            if not bridge_up:
                sh("ip", "-n", ns, "link", "set", "mbr1", "up")
            timings[tool] = time.perf_counter() - start
            ports = sh("ip", "-n", ns, "-o", "link", "show", "master", "mbr1").stdout
            assert len(ports.splitlines()) == count
        finally:
            sh("ip", "netns", "del", ns)
    ratio = timings["agent"] / timings["ip -batch"]
    print(
        f"\n{count} veth pairs into a bridge ({'up' if bridge_up else 'down, then up'}): "
        f"agent one batch {timings['agent']:.2f} s, ip -batch {timings['ip -batch']:.2f} s, "
        f"ratio {ratio:.2f}"
    )
