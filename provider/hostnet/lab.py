"""The local lab: the seed's three hosts, their switches, a gateway and a control
namespace, built from namespaces and sshd on one Linux machine (root required).

Topology (every namespace name in the machine's /run/netns starts with ``hn-``):

- hn-h1, hn-h2, hn-h3: the hosts. Each is a network namespace plus its own mount
  and UTS namespace (hostname h1..h3, /etc/hostname to match), held by the host's
  sshd. The mount namespace has a private tmpfs on /run (/var/run links to it on
  Debian), so every host has its own /run/netns, /run/sshd and /run/xtables.lock,
  and an empty file is bound over /root/.bashrc. NICs: ens32 (10.32.171.202-204/24,
  default route via 10.32.171.1) and ens34 (up, no address).
- test1.1, test2.1, test3.1: one "container" per host: network, mount and UTS
  namespaces of their own, only ``lo`` (up), their own sshd; named on their host
  as /run/netns/test1.1 (a bind mount of the container's net namespace), the way
  the seed links /proc/PID/ns/net into /var/run/netns.
- hn-sw32 and hn-sw34: switches, a bridge ``sw`` each, one veth per host NIC.
- hn-gw: 10.32.171.1/24 on hn-sw32, the "outside": no route to 192.168.0.0/16,
  forwarding off, and a TCP service on port 7 that answers each connection with
  the client's address as it arrives (so NAT tests can see the rewrite). It also
  holds 203.0.113.7 (on lo), an address beyond the gateway that hosts reach only
  by their default route: once milestone 7 routes 10.32.171.0/24 from containers
  through the router un-NATed, this is where a NAT test still goes.
- hn-ctl: 10.32.171.250/24 on hn-sw32, no default route, no link to the machine's
  network. ssh, pulumi and tests talk to lab addresses only from here: run a
  command there with ctl_argv or `hostnet lab exec`, or move a whole test process
  there with enter_ctl (its mount namespace stays the machine's).

Nodes share the machine's PID namespace: `ps` or `pgrep` on a host also lists
other hosts' processes; tell them apart by /proc/PID/ns/net (`pgrep --ns PID
--nslist net`).

Every lab sshd allows root with the lab key only (UsePAM no, UseDNS no). The
client key, known_hosts (hosts at 10.32.171.202-204, containers at the seed's
192.168.5/6/7.x addresses) and ssh_config live in /run/hostnet-lab, the same path
inside every node, so ``ssh -F /run/hostnet-lab/ssh_config root@ADDR`` works from
hn-ctl, from a host and from a container.

Sysctls the lab sets on hosts: net.ipv4.ip_forward=0 (hostnet turns it on) and
net.ipv4.conf.{all,default}.rp_filter=1 (strict, as on RHEL/CentOS). The seed's
final paths pass strict filtering on hosts: every packet a host routes or receives
arrives on the interface its route back uses (NAT out of ens32, milestone 3's
/32 routes, milestone 7's router at 10.32.171.205). Containers, switches, gateway
and control keep the kernel defaults of a new namespace (forwarding 0, rp_filter
0): with strict filtering in a container, milestone 3's host-to-192.168.6.x ssh
would be dropped once milestone 7 sends replies out of veth2. The lab loads no
kernel module and leaves bridge-nf-call-iptables as the kernel sets it in a new
namespace (1 where br_netfilter is loaded), so bridged frames can meet FORWARD.

State (PIDs with start times, namespace inodes) is /run/hostnet-lab/state.json.
``lab down`` kills the recorded processes and everything living in the lab's
namespaces (sessions, agents, processes in a host's own named namespaces), then
deletes the hn- namespaces the state lists and /run/hostnet-lab.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hostnet import _labinit as li
from hostnet._labinit import LabError

__all__ = [
    "LabError",
    "LabInfo",
    "add_lab_commands",
    "assert_no_lab_route_in_machine_ns",
    "ctl_argv",
    "down",
    "enter_ctl",
    "health",
    "host_exec",
    "leave_ctl",
    "load_lab",
    "machine_argv",
    "main",
    "node_argv",
    "status",
    "up",
]

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
_SSH_PORT, _WHOAMI_PORT = 22, 7


@dataclass(frozen=True, kw_only=True)
class _Node:
    name: str
    host: str | None  # None for a host; the host a container lives on
    addresses: tuple[str, ...]  # where known_hosts expects its key

    @property
    def netns(self) -> str:
        return PREFIX + self.name


HOSTS = tuple(
    _Node(name=f"h{i}", host=None, addresses=(f"10.32.171.{201 + i}",)) for i in (1, 2, 3)
)
CONTAINERS = tuple(
    _Node(
        name=f"test{i}.1", host=f"h{i}", addresses=tuple(f"192.168.{n}.{i + 1}" for n in (5, 6, 7))
    )
    for i in (1, 2, 3)
)
NODES = {node.name: node for node in HOSTS + CONTAINERS}
NETNS = (CTL, SW32, SW34, GW, *(host.netns for host in HOSTS))


@dataclass(frozen=True, kw_only=True)
class LabInfo:
    """Where the lab is: what tests and tools need to reach it."""

    hosts: Mapping[str, str]  # host name -> ens32 address
    containers: Mapping[str, str]  # container name -> host name
    container_addresses: Mapping[str, tuple[str, ...]]  # the seed's 192.168.5/6/7 addresses
    ctl_netns: str
    ctl_address: str
    gateway: str
    outside: str  # on the gateway, beyond it: reached only through a default route
    lab_dir: Path
    key_path: Path
    known_hosts_path: Path
    ssh_config_path: Path


def load_lab() -> LabInfo:
    """LabInfo of the running lab; raises LabError if the lab is not completely up."""
    state = _read_state()
    if state is None or not state.get("complete"):
        raise LabError("the lab is not up: run `hostnet lab up` (as root)")
    return LabInfo(
        hosts={host.name: host.addresses[0] for host in HOSTS},
        containers={node.name: str(node.host) for node in CONTAINERS},
        container_addresses={node.name: node.addresses for node in CONTAINERS},
        ctl_netns=CTL,
        ctl_address=CTL_ADDRESS,
        gateway=GATEWAY,
        outside=OUTSIDE,
        lab_dir=LAB_DIR,
        key_path=LAB_DIR / "id_ed25519",
        known_hosts_path=LAB_DIR / "known_hosts",
        ssh_config_path=LAB_DIR / "ssh_config",
    )


def ctl_argv(argv: list[str]) -> list[str]:
    """argv prefixed to run inside the control namespace."""
    return ["ip", "netns", "exec", CTL, *argv]


def machine_argv(argv: list[str]) -> list[str]:
    """argv prefixed to run in the machine's own network namespace, wherever the
    caller is (e.g. a test process that entered hn-ctl)."""
    return ["nsenter", f"--net=/proc/{_machine_pid()}/ns/net", "--", *argv]


def node_argv(node: str, argv: list[str]) -> list[str]:
    """argv prefixed to run in a host's or container's net, mount and UTS namespaces."""
    state = _read_state()
    record = (state or {}).get("nodes", {}).get(node)
    if record is None or not _is_ours(record):
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


def _lab_netns_inodes() -> set[int]:
    return {inode for name in NETNS if (inode := li.ns_file_inode(Path("/run/netns") / name))}


def _machine_pid() -> int:
    """The nearest of this process and its ancestors that is not in a lab network
    namespace: its namespaces are the machine's (PID 1's may not be readable)."""
    lab = _lab_netns_inodes()
    for pid in li.ancestors():
        if li.proc_ns(pid, "net") not in lab:
            return pid
    raise LabError("no process of this session is in the machine's network namespace")


@dataclass
class _Ctl:
    machine: str | None = None  # the machine's netns, held open as /proc/self/fd/N
    entered: bool = False
    follow: bool = False  # re-enter hn-ctl after the lab is rebuilt


_CTL = _Ctl()


def enter_ctl() -> None:
    """Move this process's network namespace into hn-ctl, so every socket it opens
    from now on can reach only the lab. Call it from the main thread before starting
    threads: setns moves the calling thread, and threads it starts later inherit it."""
    if _CTL.entered:
        return
    if li.proc_ns(os.getpid(), "net") in _lab_netns_inodes():
        raise LabError("already inside a lab namespace; start from the machine's namespace")
    load_lab()
    if _CTL.machine is None:
        _CTL.machine = f"/proc/self/fd/{os.open('/proc/self/ns/net', os.O_RDONLY)}"
    li.setns_net(str(Path("/run/netns") / CTL))
    _CTL.entered = _CTL.follow = True


def leave_ctl() -> None:
    """Back to the machine's network namespace (undo enter_ctl)."""
    _step_out()
    _CTL.follow = False


def _step_out() -> None:
    if _CTL.entered and _CTL.machine is not None:
        li.setns_net(_CTL.machine)
        _CTL.entered = False


def _is_lab(dst: str) -> bool:
    if dst == "default":
        return False
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        return False
    return net.version == 4 and any(net.overlaps(lab) for lab in LAB_NETWORKS)


# -- state ------------------------------------------------------------------


def _read_state() -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(STATE.read_text())
    except (OSError, ValueError):
        return None
    return state


def _write_state(state: dict[str, Any]) -> None:
    tmp = STATE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(STATE)


def _is_ours(record: Mapping[str, Any]) -> bool:
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
        port = _WHOAMI_PORT if name == "whoami" else _SSH_PORT
        if record is None or not _is_ours(record):
            problems.append(f"{name}: process is not running")
        elif li.proc_ns(record["pid"], "net") != record.get("net"):
            problems.append(f"{name}: process left its namespace")
        elif not li.listening(record["pid"], port):
            problems.append(f"{name}: nothing listens on port {port}")
    return problems


# -- up / down ----------------------------------------------------------------


def up() -> LabInfo:
    """Build the lab, or verify the running one and return at once (idempotent)."""
    _require_root()
    state = _read_state()
    if state is not None and not health(state):
        return load_lab()
    _step_out()
    if li.proc_ns(os.getpid(), "net") in _lab_netns_inodes():
        raise LabError("the lab cannot be built from inside it; run `hostnet lab up` outside")
    if state is not None or LAB_DIR.exists():
        down()
    taken = [name for name in NETNS if (Path("/run/netns") / name).exists()]
    if taken:
        raise LabError(
            f"namespaces {taken} exist but no lab state records them; if they are "
            f"leftovers of the lab, remove them with `ip netns delete NAME`"
        )
    LAB_DIR.mkdir(mode=0o700)
    (LAB_DIR / "logs").mkdir()
    state = {"version": 1, "complete": False, "netns": {}, "nodes": {}}
    _write_state(state)
    try:
        _build(state)
    except BaseException:
        down()
        raise
    if _CTL.follow:
        enter_ctl()
    return load_lab()


def _build(state: dict[str, Any]) -> None:
    li.write_files(lab_dir=LAB_DIR, nodes={node.name: node.addresses for node in NODES.values()})
    for name in NETNS:
        state["netns"][name] = None
        _write_state(state)
        li.run(["ip", "netns", "add", name])
        state["netns"][name] = li.ns_file_inode(Path("/run/netns") / name)
    _write_state(state)
    for host in HOSTS:
        li.run(["ip", "netns", "exec", host.netns, "sysctl", "-q", "-w", *HOST_SYSCTLS])
    li.run(["ip", "-batch", "-"], stdin=_links_batch())
    for netns, batch in _netns_batches().items():
        li.run(["ip", "-n", netns, "-batch", "-"], stdin=batch)
    whoami = ["ip", "netns", "exec", GW, "/usr/bin/python3", "-c", li.WHOAMI]
    first = {host.name: (_host_argv(host), _SSH_PORT) for host in HOSTS}
    _start_all(state, {**first, "whoami": (whoami, _WHOAMI_PORT)})
    # A container is created from inside its host, so the host must be up first.
    pids = {node.name: state["nodes"][str(node.host)]["pid"] for node in CONTAINERS}
    _start_all(
        state,
        {name: (_container_argv(name, host_pid=pid), _SSH_PORT) for name, pid in pids.items()},
    )
    for name, host_pid in pids.items():
        container_net = f"/proc/{state['nodes'][name]['pid']}/ns/net"
        li.run(
            [
                *["nsenter", "-t", str(host_pid), "-m", "--", "/bin/sh", "-c", li.BIND_NS],
                *["hostnet-bind", container_net, f"/run/netns/{name}"],
            ]
        )
    _verify_ssh()
    assert_no_lab_route_in_machine_ns()
    state["complete"] = True
    _write_state(state)


def _host_argv(host: _Node) -> list[str]:
    return [
        *["ip", "netns", "exec", host.netns],
        *["unshare", "--mount", "--uts", "--propagation", "private"],
        *["/bin/sh", "-c", li.NODE_INIT, "hostnet-node", host.name],
        str(LAB_DIR / "nodes" / host.name),
    ]


def _container_argv(name: str, *, host_pid: int) -> list[str]:
    # Created from inside its host's network namespace, as a container runtime on
    # that host would; the mount namespace starts from the machine's so the
    # staged files in /run/hostnet-lab are reachable until /run is replaced.
    return [
        *["nsenter", "-t", str(host_pid), "-n", "--"],
        *["unshare", "--net", "--mount", "--uts", "--propagation", "private"],
        *["/bin/sh", "-c", li.NODE_INIT, "hostnet-node", name],
        str(LAB_DIR / "nodes" / name),
    ]


def _start_all(state: dict[str, Any], todo: Mapping[str, tuple[list[str], int]]) -> None:
    """Spawn every process (recording each PID at once), then wait for each to listen."""
    for name, (argv, _) in todo.items():
        pid = li.spawn_detached(argv=argv, log=LAB_DIR / "logs" / f"{name}.log")
        state["nodes"][name] = {"pid": pid, "start": li.start_time(pid)}
        _write_state(state)
    for name, (_, port) in todo.items():
        record = state["nodes"][name]
        li.wait_listening(pid=record["pid"], port=port, log=LAB_DIR / "logs" / f"{name}.log")
        # Only now is the process past unshare/setns: its namespaces are the lab's.
        record.update({kind: li.proc_ns(record["pid"], kind) for kind in li.NS_KINDS})
    _write_state(state)


def _links_batch() -> str:
    """Links created straight into their namespaces: none ever exists in the machine's."""
    lines = [f"link add sw netns {sw} type bridge" for sw in (SW32, SW34)]
    for i, host in enumerate(HOSTS, start=1):
        last = int(host.addresses[0].rsplit(".", 1)[1])
        for nic, sw, tag in (("ens32", SW32, "32"), ("ens34", SW34, "34")):
            mac = f"02:{tag}:0a:20:ab:{last:02x}"
            lines.append(
                f"link add {nic} netns {host.netns} address {mac} type veth "
                f"peer name h{i} netns {sw}"
            )
    for netns, port, last in ((GW, "gw", 1), (CTL, "ctl", 250)):
        mac = f"02:32:0a:20:ab:{last:02x}"
        lines.append(
            f"link add eth0 netns {netns} address {mac} type veth peer name {port} netns {SW32}"
        )
    return "\n".join(lines) + "\n"


def _netns_batches() -> dict[str, str]:
    ports32 = [f"h{i}" for i in (1, 2, 3)] + ["gw", "ctl"]
    batches = {
        SW32: ["link set sw up", *_enslave(ports32)],
        SW34: ["link set sw up", *_enslave(ports32[:3])],
        GW: [
            "link set eth0 up",
            f"address add {GATEWAY}/24 dev eth0",
            f"address add {OUTSIDE}/32 dev lo",
        ],
        CTL: ["link set eth0 up", f"address add {CTL_ADDRESS}/24 dev eth0"],
    }
    for host in HOSTS:
        batches[host.netns] = [
            "link set ens32 up",
            "link set ens34 up",
            f"address add {host.addresses[0]}/24 dev ens32",
            f"route add default via {GATEWAY} dev ens32",
        ]
    return {ns: "\n".join(["link set lo up", *cmds]) + "\n" for ns, cmds in batches.items()}


def _enslave(ports: list[str]) -> list[str]:
    return [cmd for port in ports for cmd in (f"link set {port} master sw", f"link set {port} up")]


def _verify_ssh() -> None:
    """Every host answers ssh from hn-ctl with its hostname, host key checked."""
    config = str(LAB_DIR / "ssh_config")
    procs = {
        host.name: subprocess.Popen(  # noqa: S603 -- argv list, no shell
            ctl_argv(["ssh", "-F", config, f"root@{host.addresses[0]}", "hostname"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for host in HOSTS
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=30)
        if proc.returncode != 0 or out.strip() != name:
            raise LabError(f"ssh to {name} from {CTL} failed: {out.strip()} {err.strip()}")


def down() -> None:
    """Remove the lab: its processes, its hn- namespaces, /run/hostnet-lab."""
    _require_root()
    _step_out()
    state = _read_state()
    if state is not None:
        namespaces, pids = _lab_namespaces(state)
        li.kill_in(namespaces, pids=pids - set(li.ancestors()))
        li.wait_reaped(pids)
        for name in state.get("netns", {}):
            if name.startswith(PREFIX) and (Path("/run/netns") / name).exists():
                li.run(["ip", "netns", "delete", name])
    shutil.rmtree(LAB_DIR, ignore_errors=True)


def _lab_namespaces(state: Mapping[str, Any]) -> tuple[dict[str, set[int]], set[int]]:
    """Namespace inodes (by kind) and PIDs that belong to the lab, from live sources
    only: a recorded inode is trusted only while its recorded process still runs."""
    found: dict[str, set[int]] = {kind: set() for kind in li.NS_KINDS}
    pids: set[int] = set()
    for name in state.get("netns", {}):
        inode = li.ns_file_inode(Path("/run/netns") / name)
        if name.startswith(PREFIX) and inode is not None:
            found["net"].add(inode)
    for name, record in state.get("nodes", {}).items():
        if not _is_ours(record):
            continue
        pids.add(int(record["pid"]))
        kinds = ("net", "mnt") if name == "whoami" else li.NS_KINDS
        for kind in kinds:
            inode = li.proc_ns(record["pid"], kind)
            if inode is not None and inode == record.get(kind):
                found[kind].add(inode)
        if name in NODES:
            found["net"] |= li.private_netns(record["pid"])
    machine = _machine_pid()
    for kind, inodes in found.items():
        inodes.discard(li.proc_ns(machine, kind))  # never the machine's own namespaces
    return found, pids


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (namespaces, mounts, sshd)")


# -- status and CLI -------------------------------------------------------------


def status() -> str:
    """A readable report of what is up."""
    state = _read_state()
    if state is None:
        return "lab: down" + (f" (stray {LAB_DIR})" if LAB_DIR.exists() else "")
    problems = health(state)
    lines = [f"lab: {'up' if not problems else 'broken'} ({LAB_DIR})"]
    for name, record in state["nodes"].items():
        node = NODES.get(name)
        where = ", ".join(node.addresses) if node else f"{GATEWAY}, {OUTSIDE} port {_WHOAMI_PORT}"
        run = "running" if _is_ours(record) else "STOPPED"
        lines.append(f"  {name:8} pid {record['pid']:<8} {run:8} {where}")
    lines += [f"  problem: {problem}" for problem in problems]
    return "\n".join(lines)


def _reporting(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command handler that reports LabError as a message and exit code 1."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except LabError as err:
            print(f"hostnet lab: {err}", file=sys.stderr)
            return 1

    return run


@_reporting
def _cmd_up(_: argparse.Namespace) -> int:
    start = time.monotonic()
    info = up()
    print(f"lab up in {time.monotonic() - start:.2f} s; ssh config {info.ssh_config_path}")
    return 0


@_reporting
def _cmd_down(_: argparse.Namespace) -> int:
    start = time.monotonic()
    down()
    print(f"lab down in {time.monotonic() - start:.2f} s")
    return 0


@_reporting
def _cmd_status(_: argparse.Namespace) -> int:
    print(status())
    return 0


def _strip_dashes(argv: list[str]) -> list[str]:
    argv = argv[1:] if argv[:1] == ["--"] else argv
    if not argv:
        raise LabError("no command given (usage: ... -- CMD [ARG...])")
    return argv


@_reporting
def _cmd_exec(args: argparse.Namespace) -> int:
    load_lab()
    env = {**os.environ, "HOSTNET_LAB": "1", "HOSTNET_LAB_DIR": str(LAB_DIR)}
    argv = ctl_argv(_strip_dashes(args.cmd))
    return subprocess.run(argv, env=env, check=False).returncode  # noqa: S603 -- argv list


@_reporting
def _cmd_host_exec(args: argparse.Namespace) -> int:
    argv = node_argv(args.host, _strip_dashes(args.cmd))
    return subprocess.run(argv, check=False).returncode  # noqa: S603 -- argv list, no shell


def _add_actions(actions: Any) -> None:
    actions.add_parser("up", help="build the lab (idempotent)").set_defaults(handler=_cmd_up)
    actions.add_parser("down", help="remove the lab").set_defaults(handler=_cmd_down)
    actions.add_parser("status", help="show what is up").set_defaults(handler=_cmd_status)
    run_ctl = actions.add_parser("exec", help="run CMD in the control namespace hn-ctl")
    run_ctl.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    run_ctl.set_defaults(handler=_cmd_exec)
    run_host = actions.add_parser("host-exec", help="run CMD inside a lab host or container")
    run_host.add_argument("host", choices=sorted(NODES))
    run_host.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    run_host.set_defaults(handler=_cmd_host_exec)


def add_lab_commands(subparsers: Any) -> None:
    """Add `lab up|down|status|exec|host-exec`; each sets args.handler(args) -> exit code
    (a LabError is reported on stderr as exit code 1)."""
    lab = subparsers.add_parser("lab", help="the local multi-host lab (root)")
    _add_actions(lab.add_subparsers(dest="lab_command", required=True))


def main(argv: list[str] | None = None) -> int:
    """`python -m hostnet.lab up|down|status|exec|host-exec`."""
    parser = argparse.ArgumentParser(
        prog="python -m hostnet.lab", description="the local multi-host lab (root)"
    )
    _add_actions(parser.add_subparsers(dest="lab_command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
