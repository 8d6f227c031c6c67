"""Process and namespace plumbing for hostnet_lab: the programs a lab node runs,
detached spawning, and finding processes by the namespaces they live in.

Nothing here knows the lab's topology; hostnet_lab passes names, paths and PIDs.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.resources
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Set
from pathlib import Path

NS_KINDS = ("net", "mnt", "uts")
_CLONE_NEWNET = 0x40000000
_TCP_LISTEN = "0A"


class LabError(RuntimeError):
    """The lab cannot be built, found or removed; the message says what to do."""


def script(name: str) -> str:
    """The text of a script of the package (hostnet_lab/scripts/NAME): run as
    `sh -c TEXT NAME ARGS...` or `python3 -c TEXT ARGS...`, so it needs no path that
    a node's own mount namespace may not see."""
    return importlib.resources.files("hostnet_lab").joinpath("scripts", name).read_text()


def lab_file(name: str) -> str:
    """The text of a file of the package (hostnet_lab/files/NAME): configs, rules."""
    return importlib.resources.files("hostnet_lab").joinpath("files", name).read_text()


def spawn_detached(*, argv: list[str], log: Path) -> int:
    """Start argv in its own session, detached from the caller; return its PID."""
    out = subprocess.run(  # noqa: S603 -- argv list, no shell
        [sys.executable, "-c", script("spawner.py"), str(log), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if out.returncode != 0 or not out.stdout.strip().isdigit():
        raise LabError(f"cannot start {argv[:4]}...: {out.stderr.strip()}")
    return int(out.stdout.strip())


def run(argv: list[str], *, stdin: str | None = None) -> str:
    """Run argv to completion; raise LabError with its stderr if it fails."""
    out = subprocess.run(  # noqa: S603 -- argv list, no shell
        argv, input=stdin, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise LabError(f"{' '.join(argv[:6])} failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


def proc_ns(pid: int, kind: str) -> int | None:
    """Inode of a process's namespace, or None if the process is gone or a zombie."""
    try:
        link = os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None
    return int(link[link.index("[") + 1 : -1])


def start_time(pid: int) -> int | None:
    """Start time of pid in clock ticks since boot: with the PID, a process identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(pid: int) -> bool:
    """True if pid runs (a zombie does not count: it holds no namespace)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def nsfs_dev() -> int:
    """Device number of nsfs, to tell a mounted namespace file from a plain file."""
    return os.stat("/proc/self/ns/net").st_dev


def ns_file_inode(path: Path) -> int | None:
    """Namespace inode behind a bind-mounted namespace file, None if not one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino if st.st_dev == nsfs_dev() else None


def private_netns(pid: int) -> set[int]:
    """Namespaces named in the /run/netns that process pid sees (its mount ns)."""
    found: set[int] = set()
    try:
        entries = list(os.scandir(f"/proc/{pid}/root/run/netns"))
    except OSError:
        return found
    for entry in entries:
        inode = ns_file_inode(Path(entry.path))
        if inode is not None:
            found.add(inode)
    return found


def listening(pid: int, port: int) -> bool:
    """True if the network namespace of pid has a TCP socket listening on port."""
    want = f":{port:04X}"
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].endswith(want) and fields[3] == _TCP_LISTEN:
                return True
    return False


def wait_listening(*, pid: int, port: int, log: Path, timeout: float = 10.0) -> None:
    """Wait until pid's namespace listens on port; raise with the log tail if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            break
        if listening(pid, port):
            return
        time.sleep(0.01)
    tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
    raise LabError(f"process {pid} is not listening on port {port}; log {log}:\n{tail}")


def ancestors() -> list[int]:
    """This process and its ancestors, nearest first: never signalled, even when
    the lab is removed from inside it."""
    found = []
    pid = os.getpid()
    while pid > 1:
        found.append(pid)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        pid = int(status.split("\nPPid:\t", 1)[1].split("\n", 1)[0])
    return found


def setns_net(path: str) -> None:
    """Move the calling thread into the network namespace at path. Threads it
    starts afterwards inherit it; threads that already exist do not."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc().setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise LabError(f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def pids_in(namespaces: Mapping[str, Set[int]]) -> list[int]:
    """PIDs whose namespace of some kind (net, mnt, uts) is one of the given inodes."""
    skip = set(ancestors())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in skip:
            continue
        pid = int(entry)
        if any(proc_ns(pid, kind) in inodes for kind, inodes in namespaces.items()):
            found.append(pid)
    return found


def kill_in(
    namespaces: Mapping[str, Set[int]], *, pids: Set[int], grace: float = 1.0, limit: float = 10.0
) -> None:
    """SIGTERM the given live pids and every process in the namespaces; SIGKILL
    what is left after grace.

    Rescans each round, because an sshd may fork a session while it is dying.
    """
    start = time.monotonic()
    while found := set(pids_in(namespaces)) | {pid for pid in pids if alive(pid)}:
        elapsed = time.monotonic() - start
        if elapsed > limit:
            raise LabError(f"processes survive SIGKILL: {sorted(found)}")
        sig = signal.SIGTERM if elapsed < grace else signal.SIGKILL
        _signal_all(found, sig)
        time.sleep(0.02)


def wait_reaped(pids: Iterable[int], *, timeout: float = 5.0) -> None:
    """Wait (bounded) until dead pids are reaped: the lab's processes are orphans,
    and an init that reaps lazily leaves their zombies in the process table."""
    deadline = time.monotonic() + timeout
    pending = set(pids)
    while pending and time.monotonic() < deadline:
        pending = {pid for pid in pending if Path(f"/proc/{pid}").exists()}
        time.sleep(0.05)


def _signal_all(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


_CLIENT_FILES = ("id_ed25519", "id_ed25519.pub", "known_hosts", "ssh_config")


def write_files(*, lab_dir: Path, nodes: Mapping[str, tuple[str, ...]]) -> None:
    """Keys, sshd and ssh configs for every node (name -> addresses its key is
    known under), staged in lab_dir/nodes/NAME/files for the node to copy."""
    keys = {name: lab_dir / "nodes" / name / "files" / "ssh_host_ed25519_key" for name in nodes}
    for key in keys.values():
        key.parent.mkdir(parents=True, mode=0o700)
        (key.parent.parent / "run").mkdir()
    _keygen([lab_dir / "id_ed25519", *keys.values()])
    client_pub = (lab_dir / "id_ed25519.pub").read_text()
    known = [f"{','.join(addresses)} {_pubkey(keys[name])}" for name, addresses in nodes.items()]
    (lab_dir / "known_hosts").write_text("\n".join(known) + "\n")
    (lab_dir / "ssh_config").write_text(lab_file("ssh_config").format(lab_dir=lab_dir))
    sshd_config = lab_file("sshd_config")
    for name, key in keys.items():
        files = key.parent
        (files / "sshd_config").write_text(sshd_config)
        (files / "authorized_keys").write_text(client_pub)
        (files / "hostname").write_text(name + "\n")
        (files / "bashrc").write_text("")
        for client_file in _CLIENT_FILES:
            shutil.copy2(lab_dir / client_file, files / client_file)


def _pubkey(key: Path) -> str:
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    return f"{kind} {blob}"


def _keygen(paths: list[Path]) -> None:
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hostnet-lab", "-f"]
    procs = [
        subprocess.Popen(  # noqa: S603 -- argv list, no shell
            [*keygen, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for path in paths
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            raise LabError(f"ssh-keygen failed: {err.decode(errors='replace').strip()}")
