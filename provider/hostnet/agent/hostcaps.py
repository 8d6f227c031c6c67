"""What differs between hosts: kernel netlink options, the pyroute2 shipped, subprocesses.

Everything here is detected when the agent starts, on the host itself, never
inferred from a distribution name. A kernel before 4.12 has no NETLINK_EXT_ACK
and one before 4.20 no NETLINK_GET_STRICT_CHK (CentOS 7's 3.10 has neither):
setting them there fails with ENOPROTOOPT, so they are set only where the
probe socket took them. pyroute2 (0.9 on Python >= 3.9, 0.8 shipped to 3.6-3.8)
is given its socket in another namespace made here.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import subprocess
import threading
from typing import Any

SOL_NETLINK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK = 270, 11, 12
NETLINK_ROUTE = 0
CLONE_NEWNET = 0x40000000


def _takes(option: int) -> bool:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as probe:
        try:
            probe.setsockopt(SOL_NETLINK, option, 1)
        except OSError as exc:
            if exc.errno in (errno.ENOPROTOOPT, errno.EINVAL):
                return False
            raise
    return True


EXT_ACK = _takes(NETLINK_EXT_ACK)
STRICT_CHECK = _takes(NETLINK_GET_STRICT_CHK)


def features() -> dict[str, Any]:
    """What the agent found, for its ready line."""
    return {"ext_ack": EXT_ACK, "strict_check": STRICT_CHECK}


def iproute(path: str | None) -> Any:
    """A pyroute2 IPRoute in the namespace at ``path`` (None: the agent's own).

    A missing namespace raises FileNotFoundError and is never created.
    nlm_echo: a create answers with the new object, saving a lookup. The socket
    is made here by setns(), on every pyroute2: its own ``netns=`` forks a helper
    process per socket (about 7 ms against 1 ms), which a request in each of a
    hundred containers pays a hundred times.
    """
    from pyroute2.iproute import IPRoute  # noqa: PLC0415 -- most agents never need one

    options: dict[str, Any] = {"groups": 0, "nlm_echo": True, "strict_check": STRICT_CHECK}
    if path is None:
        return IPRoute(**options)
    return IPRoute(fileno=netlink_socket_in(path), **options)


_LIBC: list[Any] = []
_HOME: list[int] = []
_HOME_LOCK = threading.Lock()


def libc() -> Any:
    """The C library, through ctypes with errno kept (per thread)."""
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def _setns(fd: int) -> None:
    if libc().setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def netlink_socket_in(path: str | None) -> int:
    """The fd of a NETLINK_ROUTE socket made inside the namespace at ``path``
    (None: the agent's own)."""
    return socket_in(path, socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE).detach()


def socket_in(path: str | None, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket made inside the network namespace at ``path`` (None: the agent's own).

    setns() moves only the calling thread, and a socket belongs for good to the
    namespace it was made in, so the thread steps in, makes it and steps back.
    """
    if path is None:
        return socket.socket(family, kind, proto)
    with _HOME_LOCK:
        if not _HOME:
            _HOME.append(os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC))
    target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            return socket.socket(family, kind, proto)
        finally:
            _setns(_HOME[0])
    finally:
        os.close(target)


def run(
    argv: list[str],
    *,
    timeout: float,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """``argv`` with its output captured (``capture_output`` is 3.7+)."""
    return subprocess.run(  # noqa: S603, UP022 -- argv list; no capture_output before 3.7
        argv,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
        env=env,
    )
