"""Per-request state: the deadline, resolved namespaces, one netlink socket per namespace.

A socket inside a namespace keeps that namespace alive, and one kept past a
namespace's deletion would reach the old namespace. So a request's sockets in
other namespaces are closed when it ends, except on the writer thread (the one
that runs every change, writer.py): it keeps them between its requests, because a
change in each of a hundred containers would otherwise open a hundred sockets
per step. A kept socket is used again only while its path still names the same
namespace (the nsfs inode), is closed when the writer itself deletes or
recreates that namespace, after a failed request, and after KEEP_IDLE seconds
unused. Read-only requests, on the other threads, keep nothing.
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
# The writer thread's kept sockets: path -> (nsfs inode, last used, Net).
_KEPT = threading.local()
KEEP_IDLE = 2.0


def keep_sockets() -> None:
    """Make this thread keep its sockets in other namespaces between requests
    (the writer thread's initializer)."""
    _KEPT.nets = {}


def _kept() -> dict[str, tuple[int | None, float, Net]] | None:
    kept: dict[str, tuple[int | None, float, Net]] | None = getattr(_KEPT, "nets", None)
    return kept


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def sweep_kept(*, idle: float = KEEP_IDLE) -> None:
    """Close this thread's kept sockets unused for ``idle`` seconds, or whose path
    no longer names their namespace: nothing of ours keeps a namespace alive
    that its owner has deleted."""
    kept = _kept()
    if not kept:
        return
    now = time.monotonic()
    for path, (inode, used, net) in list(kept.items()):
        if now - used >= idle or _inode(path) != inode:
            del kept[path]
            _close_quietly(net)


def _close_quietly(net: Net) -> None:
    with contextlib.suppress(Exception):  # best effort: the socket is done with either way
        net.close()


class Net:
    """Netlink inside one namespace: Rtnl (links, addresses, routes, rules) on a
    socket made here, and pyroute2 (vxlan FDB entries) on a socket of its own,
    made on first use: most requests never need it, and an IPRoute costs about
    2 ms to make."""

    def __init__(self, ns: Netns, fileno: int) -> None:
        self.ns = ns
        try:
            self.rt = Rtnl(fileno, ext_ack=hostcaps.EXT_ACK, strict=hostcaps.STRICT_CHECK)
        finally:
            os.close(fileno)
        self._ipr: Any = None
        self.inode: int | None = None  # of the namespace's path when the socket was made

    @property
    def ipr(self) -> Any:
        if self._ipr is None:
            try:
                self._ipr = hostcaps.iproute(self.ns.path)
            except FileNotFoundError:
                raise NotFound(f"network namespace {self.ns.label!r} does not exist") from None
        return self._ipr

    def close(self) -> None:
        self.rt.close()
        if self._ipr is not None:
            self._ipr.close()


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
        if cached is None and path is not None:
            cached = self._take_kept(ns, path)
        if cached is not None:
            self._net[path] = cached
            return cached
        inode = _inode(path) if path is not None else None  # before the socket: see _take_kept
        try:
            fileno = hostcaps.netlink_socket_in(path)
        except FileNotFoundError:
            raise NotFound(f"network namespace {ns.label!r} does not exist") from None
        except Exception as exc:
            raise from_exception(exc, what=f"netlink socket in {ns.label}") from exc
        net = self._net[path] = Net(ns, fileno)
        net.inode = inode
        if path is None:
            _OWN.net = net
        return net

    def _take_kept(self, ns: Netns, path: str) -> Net | None:
        """The writer's kept socket for ``path`` while the path names the namespace
        it was made in. The inode was read before that socket was made, so a
        namespace replaced in between reads as changed, never the other way."""
        kept = _kept()
        entry = kept.pop(path, None) if kept is not None else None
        if entry is None:
            return None
        inode, _, net = entry
        if inode is None or _inode(path) != inode:
            _close_quietly(net)
            return None
        net.ns = ns
        return net

    def forget(self, path: str | None) -> None:
        """Drop the cached socket of a namespace that is being removed or recreated."""
        kept = _kept()
        entry = kept.pop(path, None) if kept is not None and path is not None else None
        if entry is not None:
            _close_quietly(entry[2])
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

    def close(self, *, ok: bool = False) -> None:
        """End the request: its sockets in other namespaces are closed, or kept by
        the writer thread when the request succeeded (a failed one may have left
        an answer unread on its socket)."""
        own = getattr(_OWN, "net", None)
        kept = _kept() if ok else None
        now = time.monotonic()
        for path, net in self._net.items():
            if net is own:
                continue
            if kept is not None and path is not None and net.inode is not None:
                kept[path] = (net.inode, now, net)
                continue
            _close_quietly(net)
        self._net.clear()
