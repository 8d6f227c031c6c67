"""Named network namespaces made and removed by the agent itself, as `ip netns` does.

`ip netns add` and pyroute2 make a namespace in a child process that unshares and
bind-mounts it; importing pyroute2's module for that alone cost an agent 0.11 s,
on the path of every run that creates one. Here a thread of its own unshares (a
network namespace belongs to a thread, so the agent's other threads never move),
and the bind mount of that thread's namespace keeps it alive after the thread ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import threading

from .hostcaps import CLONE_NEWNET, libc
from .nsref import NETNS_DIR

MS_BIND, MS_REC, MS_SHARED, MNT_DETACH = 0x1000, 0x4000, 0x100000, 2
# gettid(2) for Python 3.6 and 3.7, which have no threading.get_native_id.
_SYS_GETTID = {"x86_64": 186, "aarch64": 178, "ppc64le": 207, "s390x": 236, "i686": 224}


def _ok(rc: int, what: str, path: str) -> None:
    """Raise what the call just set in errno (errno is per thread: call in the same one)."""
    if rc != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}", path)


def _tid() -> int | None:
    native = getattr(threading, "get_native_id", None)
    if native is not None:
        return int(native())
    number = _SYS_GETTID.get(os.uname().machine)
    return None if number is None else int(libc().syscall(number))


def available() -> bool:
    """Whether this interpreter can name its own thread's namespace."""
    return _tid() is not None


def _shared_dir() -> None:
    """The namespace directory as a shared mount, as iproute2 makes it: a namespace
    mounted there then shows in every mount namespace that shares /run."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(NETNS_DIR, 0o755)
    c, where = libc(), NETNS_DIR.encode()
    if c.mount(b"none", where, b"none", MS_SHARED | MS_REC, None) == 0:
        return
    _ok(c.mount(where, where, b"none", MS_BIND | MS_REC, None), "bind", NETNS_DIR)
    _ok(c.mount(b"none", where, b"none", MS_SHARED | MS_REC, None), "share", NETNS_DIR)


def create(name: str) -> None:
    """/run/netns/NAME, a new network namespace; FileExistsError when the name is taken."""
    path = f"{NETNS_DIR}/{name}"
    _shared_dir()
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    failed: list[BaseException] = []

    def unshare_and_mount() -> None:
        try:
            c = libc()
            _ok(c.unshare(CLONE_NEWNET), "unshare", path)
            source = f"/proc/self/task/{_tid()}/ns/net".encode()
            _ok(c.mount(source, path.encode(), b"none", MS_BIND, None), "mount", path)
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    try:
        thread = threading.Thread(target=unshare_and_mount, name="hostnet-netns-create")
        thread.start()
        thread.join()
        if failed:
            raise failed[0]
    except BaseException:
        os.unlink(path)  # no half-made name left for the next ensure to trip on
        raise


def remove(name: str) -> None:
    """Detach and remove /run/netns/NAME; FileNotFoundError when there is none. The
    namespace itself goes when nothing else (a process, a mount) holds it."""
    path = f"{NETNS_DIR}/{name}"
    if libc().umount2(path.encode(), MNT_DETACH) != 0 and ctypes.get_errno() != errno.EINVAL:
        _ok(-1, "umount", path)
    os.unlink(path)
