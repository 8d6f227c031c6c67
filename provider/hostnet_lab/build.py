"""Building and removing the lab: namespaces, links, sshd per node, state file."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hostnet_lab import hosts as labhosts
from hostnet_lab import plumbing as li
from hostnet_lab.nodes import (
    CONTAINERS,
    CTL,
    CTL_ADDRESS,
    CTL_SESSION,
    DEFAULT_CONTAINERS,
    GATEWAY,
    GW,
    HOST_SYSCTLS,
    HOSTS,
    LAB_DIR,
    MAX_CONTAINERS,
    NETNS,
    NODES,
    OUTSIDE,
    PREFIX,
    SSH_PORT,
    SW32,
    SW34,
    WHOAMI_PORT,
    LabInfo,
    Node,
    assert_no_lab_route_in_machine_ns,
    container_name,
    container_prefix,
    ctl_argv,
    enter_ctl,
    health,
    is_ours,
    lab_netns_inodes,
    load_lab,
    machine_pid,
    read_state,
    step_out,
    write_state,
)
from hostnet_lab.plumbing import LabError
from hostnet_lab.profiles import PLAIN, RP_FILTER, Profile, profile_named
from hostnet_lab.profiles import host_args as profile_host_args
from hostnet_lab.profiles import host_batch as profile_host_batch


def up(
    *,
    profile: str = PLAIN,
    containers: int = DEFAULT_CONTAINERS,
    host_python: Mapping[str, str] | None = None,
    old_kernel: Iterable[str] = (),
) -> LabInfo:
    """Build the lab, or verify the running one (idempotent; a running lab of another
    profile, hostnet_lab.profiles, is rebuilt); give each host `containers`
    containers (testK.1 .. testK.N; added or removed in place on a running lab);
    then give each host the interpreter and mode asked for (hostnet_lab.hosts), the
    defaults otherwise."""
    if isinstance(containers, bool) or not isinstance(containers, int):
        raise LabError(f"containers: {containers!r} is not a whole number")
    if not 1 <= containers <= MAX_CONTAINERS:
        raise LabError(f"containers: {containers} is not between 1 and {MAX_CONTAINERS}")
    info = _up(profile=profile, containers=containers)
    labhosts.configure(host_python=host_python, old_kernel=old_kernel)
    return info


def _up(*, profile: str, containers: int) -> LabInfo:
    _require_root()
    try:
        chosen = profile_named(profile)
    except ValueError as exc:
        raise LabError(str(exc)) from None
    state = read_state()
    if state is not None and not health(state) and state.get("profile", PLAIN) == profile:
        _set_containers(state, count=containers, profile=chosen)
        return load_lab()
    step_out()
    if li.proc_ns(os.getpid(), "net") in lab_netns_inodes():
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
    state = {"version": 1, "complete": False, "netns": {}, "nodes": {}, "profile": profile}
    write_state(state)
    try:
        _build(state, chosen)
        _set_containers(state, count=containers, profile=chosen)
        state["complete"] = True
        write_state(state)
    except BaseException:
        down()
        raise
    if CTL_SESSION.follow:
        enter_ctl()
    return load_lab()


def _build(state: dict[str, Any], profile: Profile) -> None:
    li.write_files(lab_dir=LAB_DIR, nodes={node.name: node.addresses for node in NODES.values()})
    for name in NETNS:
        state["netns"][name] = None
        write_state(state)
        li.run(["ip", "netns", "add", name])
        state["netns"][name] = li.ns_file_inode(Path("/run/netns") / name)
    write_state(state)
    for host in HOSTS:
        li.run(["ip", "netns", "exec", host.netns, "sysctl", "-q", "-w", *HOST_SYSCTLS])
    li.run(["ip", "-batch", "-"], stdin=_links_batch())
    for netns, batch in _netns_batches(profile).items():
        li.run(["ip", "-n", netns, "-batch", "-"], stdin=batch)
    for host in HOSTS:
        li.run(
            [
                *["ip", "netns", "exec", host.netns, "/bin/sh", "-c"],
                *[li.script("host-profile.sh"), "host-profile.sh", *profile_host_args(profile)],
            ],
            stdin=profile.foreign_rules,
        )
    whoami = ["ip", "netns", "exec", GW, "/usr/bin/python3", "-c", li.script("whoami.py")]
    first = {host.name: (_host_argv(host), SSH_PORT) for host in HOSTS}
    _start_all(state, {**first, "whoami": (whoami, WHOAMI_PORT)})
    # A container is created from inside its host, so the host must be up first.
    pids = {node.name: state["nodes"][str(node.host)]["pid"] for node in CONTAINERS}
    _start_all(
        state,
        {name: (_container_argv(name, host_pid=pid), SSH_PORT) for name, pid in pids.items()},
    )
    for name, host_pid in pids.items():
        container_net = f"/proc/{state['nodes'][name]['pid']}/ns/net"
        li.run(
            [
                *["nsenter", "-t", str(host_pid), "-m", "--", "/bin/sh", "-c"],
                *[li.script("bind-ns.sh"), "bind-ns.sh", container_net, f"/run/netns/{name}"],
            ]
        )
    if profile.container_rp_filter:
        _strict_namespaces(state)
    _verify_ssh()
    assert_no_lab_route_in_machine_ns()


def _set_containers(state: dict[str, Any], *, count: int, profile: Profile) -> None:
    """Containers 2..count on every host as network namespaces named on it, no
    process each (scripts/containers.sh); those above count that an earlier `up`
    made are removed with every process in them. A missing one is made again."""
    made = int(state.get("containers", DEFAULT_CONTAINERS))
    if count == made == DEFAULT_CONTAINERS:
        return
    state["containers"] = max(made, count)  # what `down` or the next `up` may find
    write_state(state)
    settings = RP_FILTER if profile.container_rp_filter else ()
    script = li.script("containers.sh")
    for host in HOSTS:
        pid = str(state["nodes"][host.name]["pid"])
        named = (
            Path(f"/proc/{pid}/root/run/netns") / container_name(host, i)
            for i in range(count + 1, made + 1)
        )
        leaving = {inode for path in named if (inode := li.ns_file_inode(path)) is not None}
        if leaving:
            li.kill_in({"net": leaving}, pids=set())
        li.run(
            [
                *["nsenter", "-t", pid, "-n", "-m", "--", "/bin/sh", "-c", script],
                *["containers.sh", container_prefix(host), str(count), str(made), *settings],
            ]
        )
    state["containers"] = count
    write_state(state)


def _strict_namespaces(state: dict[str, Any]) -> None:
    """rp_filter=1 in each container now, and in every namespace named on a host later."""
    for node in CONTAINERS:
        pid = str(state["nodes"][node.name]["pid"])
        li.run(["nsenter", "-t", pid, "-n", "--", "sysctl", "-q", "-w", *RP_FILTER])
    rp_watcher = li.script("rp_watcher.py")
    for host in HOSTS:
        pid = str(state["nodes"][host.name]["pid"])
        argv = ["nsenter", "-t", pid, "-n", "-m", "--", "/usr/bin/python3", "-c", rp_watcher]
        # Lives in the host's namespaces, so `lab down` ends it with them.
        li.spawn_detached(argv=argv, log=LAB_DIR / "logs" / f"rp-watcher-{host.name}.log")


def _host_argv(host: Node) -> list[str]:
    return [
        *["ip", "netns", "exec", host.netns],
        *["unshare", "--mount", "--uts", "--propagation", "private"],
        *["/bin/sh", "-c", li.script("node-init.sh"), "node-init.sh", host.name],
        str(LAB_DIR / "nodes" / host.name),
    ]


def _container_argv(name: str, *, host_pid: int) -> list[str]:
    # Created from inside its host's network namespace, as a container runtime on
    # that host would; the mount namespace starts from the machine's so the
    # staged files in /run/hostnet-lab are reachable until /run is replaced.
    return [
        *["nsenter", "-t", str(host_pid), "-n", "--"],
        *["unshare", "--net", "--mount", "--uts", "--propagation", "private"],
        *["/bin/sh", "-c", li.script("node-init.sh"), "node-init.sh", name],
        str(LAB_DIR / "nodes" / name),
    ]


def _start_all(state: dict[str, Any], todo: Mapping[str, tuple[list[str], int]]) -> None:
    """Spawn every process (recording each PID at once), then wait for each to listen."""
    for name, (argv, _) in todo.items():
        pid = li.spawn_detached(argv=argv, log=LAB_DIR / "logs" / f"{name}.log")
        state["nodes"][name] = {"pid": pid, "start": li.start_time(pid)}
        write_state(state)
    for name, (_, port) in todo.items():
        record = state["nodes"][name]
        li.wait_listening(pid=record["pid"], port=port, log=LAB_DIR / "logs" / f"{name}.log")
        # Only now is the process past unshare/setns: its namespaces are the lab's.
        record.update({kind: li.proc_ns(record["pid"], kind) for kind in li.NS_KINDS})
    write_state(state)


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


def _netns_batches(profile: Profile) -> dict[str, str]:
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
            *(["link set ens34 up"] if profile.ens34_up else []),
            f"address add {host.addresses[0]}/24 dev ens32",
            f"route add default via {GATEWAY} dev ens32",
            *profile_host_batch(profile),
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
    step_out()
    state = read_state()
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
        if not is_ours(record):
            continue
        pids.add(int(record["pid"]))
        kinds = ("net", "mnt") if name == "whoami" else li.NS_KINDS
        for kind in kinds:
            inode = li.proc_ns(record["pid"], kind)
            if inode is not None and inode == record.get(kind):
                found[kind].add(inode)
        if name in NODES:
            found["net"] |= li.private_netns(record["pid"])
    machine = machine_pid()
    for kind, inodes in found.items():
        inodes.discard(li.proc_ns(machine, kind))  # never the machine's own namespaces
    return found, pids


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (namespaces, mounts, sshd)")


# -- status and CLI -------------------------------------------------------------


def status() -> str:
    """A readable report of what is up."""
    state = read_state()
    if state is None:
        return "lab: down" + (f" (stray {LAB_DIR})" if LAB_DIR.exists() else "")
    problems = health(state)
    count = state.get("containers", DEFAULT_CONTAINERS)
    where = f"{LAB_DIR}, profile {state.get('profile', PLAIN)}, containers per host: {count}"
    lines = [f"lab: {'up' if not problems else 'broken'} ({where})"]
    for name, record in state["nodes"].items():
        node = NODES.get(name)
        where = ", ".join(node.addresses) if node else f"{GATEWAY}, {OUTSIDE} port {WHOAMI_PORT}"
        run = "running" if is_ours(record) else "STOPPED"
        lines.append(f"  {name:8} pid {record['pid']:<8} {run:8} {where}")
    lines += [f"  problem: {problem}" for problem in problems]
    return "\n".join(lines)
