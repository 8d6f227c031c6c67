"""Per-request state: the deadline, resolved namespaces, one netlink socket per namespace.

Sockets live for one request only: a namespace deleted between two requests
must not be reached through a stale socket, and a socket inside a namespace
keeps that namespace alive.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

from . import hostcaps, nsref
from .errors import Failed, NotFound, Timeout, from_exception
from .nsref import Netns
from .rtnl import Rtnl

# setns() in a child, then exec: the fallback when nsenter is missing.
_SETNS_EXEC = """\
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
if libc.setns(fd, 0x40000000) != 0:
    sys.stderr.write("setns %s: %s\\n" % (sys.argv[1], os.strerror(ctypes.get_errno())))
    sys.exit(126)
os.close(fd)
os.execvp(sys.argv[2], sys.argv[2:])
"""
_ENV = dict(os.environ, LC_ALL="C")
# Each worker thread keeps one socket in the agent's own namespace across
# requests: that namespace lives as long as the agent, so the socket never goes
# stale, and opening one costs about 1 ms, as much as a typical op.
_OWN = threading.local()


class Net:
    """Netlink inside one namespace: pyroute2 (addresses, routes) and Rtnl (links)."""

    def __init__(self, ns: Netns, ipr: Any) -> None:
        self.ns = ns
        self.ipr = ipr
        self.rt = Rtnl(ipr.fileno(), ext_ack=hostcaps.EXT_ACK)

    def close(self) -> None:
        self.rt.close()
        self.ipr.close()


def in_netns(path: str | None, argv: list[str]) -> list[str]:
    """``argv`` run inside the namespace at ``path`` (None: here)."""
    if path is None:
        return argv
    nsenter = shutil.which("nsenter")
    if nsenter is not None:
        return [nsenter, f"--net={path}", *argv]
    return [sys.executable, "-I", "-S", "-c", _SETNS_EXEC, path, *argv]


class Context:
    """Everything one request shares between its ops."""

    def __init__(self, *, deadline: float) -> None:
        self.deadline = deadline
        self._netns: dict[str | None, Netns] = {}
        self._net: dict[str | None, Net] = {}
        # (namespace path, ifname) -> ifindex, for masters a batch names over and
        # over; dropped whenever an op of the request deletes a link or a namespace.
        self.link_index: dict[tuple[str | None, str], int] = {}

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Timeout("request timeout exceeded")
        return left

    def netns(self, ref: str | None) -> Netns:
        found = self._netns.get(ref)
        if found is None:
            found = nsref.resolve(ref, timeout=self.remaining())
            self._netns[ref] = found
        return found

    def net(self, ref: str | None) -> Net:
        """The request's netlink inside ``ref``; NotFound if the namespace is gone."""
        return self.net_at(self.netns(ref))

    def net_at(self, ns: Netns) -> Net:
        path = ns.require()
        cached = self._net.get(path)
        if cached is None and path is None:
            cached = getattr(_OWN, "net", None)
        if cached is not None:
            self._net[path] = cached
            return cached
        try:
            ipr = hostcaps.iproute(path)
        except FileNotFoundError:
            raise NotFound(f"network namespace {ns.label!r} does not exist") from None
        except Exception as exc:
            raise from_exception(exc, what=f"netlink socket in {ns.label}") from exc
        net = self._net[path] = Net(ns, ipr)
        if path is None:
            _OWN.net = net
        return net

    def forget(self, path: str | None) -> None:
        """Drop the cached socket of a namespace that is being removed or recreated."""
        net = self._net.pop(path, None)
        self.link_index.clear()
        if net is not None and net is not getattr(_OWN, "net", None):
            net.close()
        for ref, ns in list(self._netns.items()):
            if ns.path == path:
                del self._netns[ref]

    def run(
        self, argv: list[str], *, ns: Netns, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``argv`` (never a shell) inside ``ns`` within the request's time."""
        full = in_netns(ns.require(), argv)
        timeout = self.remaining()
        try:
            return hostcaps.run(full, stdin=stdin, timeout=timeout, env=_ENV)
        except subprocess.TimeoutExpired:
            raise Timeout(f"{argv[0]} did not finish within {timeout:.1f}s") from None
        except FileNotFoundError:
            raise Failed(f"{full[0]} is not installed on the host", errno=2) from None

    def close(self) -> None:
        own = getattr(_OWN, "net", None)
        for net in self._net.values():
            if net is own:
                continue
            # Closing is best effort: the request is over either way.
            with contextlib.suppress(Exception):
                net.close()
        self._net.clear()
