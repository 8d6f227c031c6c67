"""Namespace references: what the ``netns`` argument of an op may name.

null / absent     the agent's own network namespace
"NAME"            a named namespace, /run/netns/NAME (as `ip netns`)
"pid:N"           the namespace of process N
"/abs/path"       a namespace file, e.g. /proc/N/ns/net or a bind mount
"container:NAME"  a docker (else podman) container's namespace, resolved at call time
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from . import hostcaps
from .errors import Failed, Invalid, NotFound, Timeout
from .select import netns_name_ok

NETNS_DIR = "/run/netns"
OWN_PATH = "/proc/self/ns/net"
_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,200}$")


@dataclass(frozen=True)
class Netns:
    """A resolved reference. ``path`` None is the agent's own namespace."""

    ref: str | None
    path: str | None
    missing: str | None = None

    @property
    def own(self) -> bool:
        return self.path is None and self.missing is None

    @property
    def label(self) -> str:
        return "host" if self.ref is None else self.ref

    @property
    def fd_path(self) -> str:
        """A path whose open fd names this namespace (for IFLA_NET_NS_FD)."""
        return self.require() or OWN_PATH

    def exists(self) -> bool:
        if self.own:
            return True
        return self.path is not None and os.path.exists(self.path)

    def require(self) -> str | None:
        """The path (None for own), or NotFound when the namespace is gone."""
        if not self.exists():
            raise NotFound(self.missing or f"network namespace {self.label!r} does not exist")
        return self.path


def named() -> list[str]:
    """The names in NETNS_DIR, sorted (none when it does not exist yet)."""
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def check_name(name: str) -> str:
    if not netns_name_ok(name):
        raise Invalid(f"bad network namespace name {name!r}")
    return name


def resolve(ref: str | None, *, timeout: float) -> Netns:
    """Parse ``ref``; a container is looked up now (its pid changes on restart)."""
    if ref is None or ref == "":
        return Netns(ref=None, path=None)
    if ref.startswith("pid:"):
        pid = ref[4:]
        if not pid.isdigit():
            raise Invalid(f"bad namespace reference {ref!r}: pid must be a number")
        return Netns(ref=ref, path=f"/proc/{int(pid)}/ns/net")
    if ref.startswith("container:"):
        return _container(ref, ref[len("container:") :], timeout=timeout)
    if ref.startswith("/"):
        if "\0" in ref:
            raise Invalid(f"bad namespace path {ref!r}")
        return Netns(ref=ref, path=ref)
    return Netns(ref=ref, path=f"{NETNS_DIR}/{check_name(ref)}")


def _container(ref: str, name: str, *, timeout: float) -> Netns:
    if not _NAME.match(name) or name.startswith("-"):
        raise Invalid(f"bad container name in {ref!r}")
    tool = shutil.which("docker") or shutil.which("podman")
    if tool is None:
        raise Failed(f"{ref}: neither docker nor podman is installed")
    argv = [tool, "inspect", "--format", "{{.State.Pid}}", name]
    try:
        done = hostcaps.run(argv, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Timeout(f"{ref}: {os.path.basename(tool)} inspect took over {timeout:.1f}s") from None
    out = done.stdout.decode(errors="replace").strip()
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()
        if "no such" in err.lower():
            return Netns(ref=ref, path=None, missing=f"container {name!r} does not exist")
        raise Failed(f"{ref}: {os.path.basename(tool)} inspect: {err or out}")
    if not out.isdigit() or int(out) == 0:
        return Netns(ref=ref, path=None, missing=f"container {name!r} is not running")
    return Netns(ref=ref, path=f"/proc/{int(out)}/ns/net")
