"""Per-request state: the deadline, resolved namespaces, one IPRoute per namespace.

Sockets live for one request only: a namespace deleted between two requests
must not be reached through a stale socket, and a socket inside a namespace
keeps that namespace alive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from typing import Any

from pyroute2 import IPRoute

from . import nsref
from .errors import Failed, NotFound, Timeout, from_exception
from .nsref import Netns

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
        self._ipr: dict[str | None, Any] = {}

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

    def ipr(self, ref: str | None) -> Any:
        """The request's IPRoute inside ``ref``; NotFound if the namespace is gone."""
        return self.ipr_at(self.netns(ref))

    def ipr_at(self, ns: Netns) -> Any:
        path = ns.require()
        cached = self._ipr.get(path)
        if cached is not None:
            return cached
        try:
            if path is None:
                ipr = IPRoute(groups=0, strict_check=True)
            else:
                # flags=0: a missing namespace is an error, never created on the fly.
                ipr = IPRoute(netns=path, flags=0, groups=0, strict_check=True)
        except FileNotFoundError:
            raise NotFound(f"network namespace {ns.label!r} does not exist") from None
        except Exception as exc:
            raise from_exception(exc, what=f"netlink socket in {ns.label}") from exc
        self._ipr[path] = ipr
        return ipr

    def forget(self, path: str | None) -> None:
        """Drop the cached socket of a namespace that is being removed or recreated."""
        ipr = self._ipr.pop(path, None)
        if ipr is not None:
            ipr.close()
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
            return subprocess.run(
                full, input=stdin, capture_output=True, timeout=timeout, check=False, env=_ENV
            )
        except subprocess.TimeoutExpired:
            raise Timeout(f"{argv[0]} did not finish within {timeout:.1f}s") from None
        except FileNotFoundError:
            raise Failed(f"{full[0]} is not installed on the host", errno=2) from None

    def close(self) -> None:
        for ipr in self._ipr.values():
            try:
                ipr.close()
            except Exception:  # noqa: S110 -- closing is best effort; the request is over
                pass
        self._ipr.clear()
