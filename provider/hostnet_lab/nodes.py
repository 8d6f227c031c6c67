"""The lab's topology and the handles tests and tools use to reach it:
node names and addresses, the state file, commands run inside a node, and moving
a process into the control namespace. Built and removed by hostnet_lab.build."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hostnet_lab import plumbing as li
from hostnet_lab.plumbing import LabError
from hostnet_lab.profiles import PLAIN

LAB_DIR = Path("/run/hostnet-lab")
STATE = LAB_DIR / "state.json"
PREFIX = "hn-"
CTL, SW32, SW34, GW = "hn-ctl", "hn-sw32", "hn-sw34", "hn-gw"
CTL_ADDRESS, GATEWAY, OUTSIDE = "10.32.171.250", "10.32.171.1", "203.0.113.7"
LAB_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("10.32.171.0/24", "192.168.5.0/24", "192.168.6.0/24", "192.168.7.0/24", OUTSIDE)
)
HOST_SYSCTLS = (
    "net.ipv4.ip_forward=0",
    "net.ipv4.conf.all.rp_filter=1",
    "net.ipv4.conf.default.rp_filter=1",
)
SSH_PORT, WHOAMI_PORT = 22, 7


@dataclass(frozen=True, kw_only=True)
class Node:
    name: str
    host: str | None  # None for a host; the host a container lives on
    addresses: tuple[str, ...]  # where known_hosts expects its key

    @property
    def netns(self) -> str:
        return PREFIX + self.name


HOSTS = tuple(Node(name=f"h{i}", host=None, addresses=(f"10.32.171.{201 + i}",)) for i in (1, 2, 3))
# Containers per host: 1 (the seed's) unless `lab up --containers N` asks for more.
DEFAULT_CONTAINERS, MAX_CONTAINERS = 1, 254


def container_prefix(host: Node) -> str:
    """hK's containers are testK.1, testK.2, ...: the seed's naming."""
    return f"test{host.name.removeprefix('h')}"


def container_name(host: Node, i: int) -> str:
    return f"{container_prefix(host)}.{i}"


# The seed's container on each host (testK.1): a node with its own sshd.
CONTAINERS = tuple(
    Node(
        name=container_name(host, 1),
        host=host.name,
        addresses=tuple(f"192.168.{n}.{k + 1}" for n in (5, 6, 7)),
    )
    for k, host in enumerate(HOSTS, start=1)
)
NODES = {node.name: node for node in HOSTS + CONTAINERS}
NETNS = (CTL, SW32, SW34, GW, *(host.netns for host in HOSTS))


@dataclass(frozen=True, kw_only=True)
class LabInfo:
    """Where the lab is: what tests and tools need to reach it."""

    hosts: Mapping[str, str]  # host name -> ens32 address
    containers: Mapping[str, str]  # every container (testK.1 .. testK.N) -> its host
    # testK.1 only (the seed's containers, with sshd): their 192.168.5/6/7 addresses
    container_addresses: Mapping[str, tuple[str, ...]]
    ctl_netns: str
    ctl_address: str
    gateway: str
    outside: str  # on the gateway, beyond it: reached only through a default route
    lab_dir: Path
    key_path: Path
    known_hosts_path: Path
    ssh_config_path: Path
    profile: str = PLAIN  # hostnet_lab.profiles: how the hosts look before hostnet
    containers_per_host: int = DEFAULT_CONTAINERS


def load_lab() -> LabInfo:
    """LabInfo of the running lab; raises LabError if the lab is not completely up."""
    state = read_state()
    if state is None or not state.get("complete"):
        raise LabError("the lab is not up: run `hostnet lab up` (as root)")
    count = int(state.get("containers", DEFAULT_CONTAINERS))
    return LabInfo(
        hosts={host.name: host.addresses[0] for host in HOSTS},
        containers={
            container_name(host, i): host.name for host in HOSTS for i in range(1, count + 1)
        },
        container_addresses={node.name: node.addresses for node in CONTAINERS},
        ctl_netns=CTL,
        ctl_address=CTL_ADDRESS,
        gateway=GATEWAY,
        outside=OUTSIDE,
        lab_dir=LAB_DIR,
        key_path=LAB_DIR / "id_ed25519",
        known_hosts_path=LAB_DIR / "known_hosts",
        ssh_config_path=LAB_DIR / "ssh_config",
        profile=str(state.get("profile", PLAIN)),
        containers_per_host=count,
    )


def ctl_argv(argv: list[str]) -> list[str]:
    """argv prefixed to run inside the control namespace."""
    return ["ip", "netns", "exec", CTL, *argv]


def machine_argv(argv: list[str]) -> list[str]:
    """argv prefixed to run in the machine's own network namespace, wherever the
    caller is (e.g. a test process that entered hn-ctl)."""
    return ["nsenter", f"--net=/proc/{machine_pid()}/ns/net", "--", *argv]


def node_argv(node: str, argv: list[str]) -> list[str]:
    """argv prefixed to run in a host's or container's net, mount and UTS namespaces."""
    state = read_state()
    record = (state or {}).get("nodes", {}).get(node)
    if record is None or not is_ours(record):
        raise LabError(f"lab node {node!r} is not running: run `hostnet lab up`")
    return ["nsenter", "-t", str(record["pid"]), "-n", "-m", "-u", "--", *argv]


def host_exec(
    host: str, argv: list[str], *, input: str | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run argv directly inside a lab host or container (not through ssh or hostnet)."""
    return subprocess.run(  # noqa: S603 -- argv list, no shell
        node_argv(host, argv),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_no_lab_route_in_machine_ns() -> None:
    """Fail if the machine's own network namespace has a lab route or address."""
    routes = json.loads(li.run(machine_argv(["ip", "-j", "-4", "route", "show", "table", "all"])))
    addrs = json.loads(li.run(machine_argv(["ip", "-j", "-4", "addr", "show"])))
    found = [f"route {r['dst']}" for r in routes if _is_lab(r.get("dst", "default"))]
    found += [f"route via {r['gateway']}" for r in routes if _is_lab(r.get("gateway", "default"))]
    for link in addrs:
        found += [
            f"address {a['local']} on {link['ifname']}"
            for a in link.get("addr_info", [])
            if _is_lab(a["local"])
        ]
    assert not found, f"lab addresses in the machine's namespace: {found}"


def lab_netns_inodes() -> set[int]:
    return {inode for name in NETNS if (inode := li.ns_file_inode(Path("/run/netns") / name))}


def machine_pid() -> int:
    """The nearest of this process and its ancestors that is not in a lab network
    namespace: its namespaces are the machine's (PID 1's may not be readable)."""
    lab = lab_netns_inodes()
    for pid in li.ancestors():
        if li.proc_ns(pid, "net") not in lab:
            return pid
    raise LabError("no process of this session is in the machine's network namespace")


@dataclass
class _Ctl:
    machine: str | None = None  # the machine's netns, held open as /proc/self/fd/N
    entered: bool = False
    follow: bool = False  # re-enter hn-ctl after the lab is rebuilt


CTL_SESSION = _Ctl()


def enter_ctl() -> None:
    """Move this process's network namespace into hn-ctl, so every socket it opens
    from now on can reach only the lab. Call it from the main thread before starting
    threads: setns moves the calling thread, and threads it starts later inherit it."""
    if CTL_SESSION.entered:
        return
    if li.proc_ns(os.getpid(), "net") in lab_netns_inodes():
        raise LabError("already inside a lab namespace; start from the machine's namespace")
    load_lab()
    if CTL_SESSION.machine is None:
        CTL_SESSION.machine = f"/proc/self/fd/{os.open('/proc/self/ns/net', os.O_RDONLY)}"
    li.setns_net(str(Path("/run/netns") / CTL))
    CTL_SESSION.entered = CTL_SESSION.follow = True


def leave_ctl() -> None:
    """Back to the machine's network namespace (undo enter_ctl)."""
    step_out()
    CTL_SESSION.follow = False


def step_out() -> None:
    if CTL_SESSION.entered and CTL_SESSION.machine is not None:
        li.setns_net(CTL_SESSION.machine)
        CTL_SESSION.entered = False


def _is_lab(dst: str) -> bool:
    if dst == "default":
        return False
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        return False
    return net.version == 4 and any(net.overlaps(lab) for lab in LAB_NETWORKS)


# -- state ------------------------------------------------------------------


def read_state() -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(STATE.read_text())
    except (OSError, ValueError):
        return None
    return state


def write_state(state: dict[str, Any]) -> None:
    tmp = STATE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(STATE)


def is_ours(record: Mapping[str, Any]) -> bool:
    """The recorded process still runs (same PID and start time)."""
    pid = int(record["pid"])
    return li.alive(pid) and li.start_time(pid) == record.get("start")


def health(state: Mapping[str, Any]) -> list[str]:
    """What is wrong with a recorded lab; empty if everything is up."""
    problems = [] if state.get("complete") else ["the build did not complete"]
    for name in NETNS:
        if li.ns_file_inode(Path("/run/netns") / name) != state["netns"].get(name):
            problems.append(f"namespace {name} is missing")
    for name in (*NODES, "whoami"):
        record = state["nodes"].get(name)
        port = WHOAMI_PORT if name == "whoami" else SSH_PORT
        if record is None or not is_ours(record):
            problems.append(f"{name}: process is not running")
        elif li.proc_ns(record["pid"], "net") != record.get("net"):
            problems.append(f"{name}: process left its namespace")
        elif not li.listening(record["pid"], port):
            problems.append(f"{name}: nothing listens on port {port}")
    return problems


# -- up / down ----------------------------------------------------------------
