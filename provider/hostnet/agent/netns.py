"""Named network namespaces. hostnet marks the ones it creates with the alias
owner's mark (owner.py) on their ``lo`` (a namespace has no alias of its own)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from . import nsmount, select
from .args import Args
from .context import Context
from .errors import Failed, NotFound, from_exception
from .links import link_attrs
from .nsref import NETNS_DIR, check_name, named
from .owner import owner_view, parse_mark
from .rtnl import IFF_UP, LinkMsg, ifinfo


def _owner_mark(ctx: Context, name: str) -> str | None:
    """The alias of lo inside ``name``; None when unmarked or unreadable (stale mount)."""
    try:
        lo = ctx.net(name).rt.get(ifname="lo")
    except (NotFound, Failed, OSError):
        return None
    return None if lo is None else lo.alias


def _mark_lo(ctx: Context, name: str, mark: str) -> None:
    net = ctx.net(name)
    lo: LinkMsg | None = net.rt.get(ifname="lo")
    if lo is None:
        raise Failed(f"netns {name} has no lo")
    change = 0 if lo.flags & IFF_UP else IFF_UP
    attrs = link_attrs(alias=mark if lo.alias != mark else None)
    if change or attrs:
        net.rt.change(ifinfo(index=lo.index, flags=IFF_UP, change=change), attrs)


def _maker() -> Any:
    """The agent's own namespace create and remove, or pyroute2's where this
    interpreter cannot name its thread (3.6 and 3.7 on a machine nsmount does not know)."""
    if nsmount.available():
        return nsmount
    import pyroute2.netns  # noqa: PLC0415 -- most agents never create one

    return pyroute2.netns


def netns_ensure(ctx: Context, args: Args) -> Any:
    name, claim = check_name(args.text("name")), args.claim()
    path = f"{NETNS_DIR}/{name}"
    if os.path.exists(path):
        claim.check(_owner_mark(ctx, name), what=f"netns {name}")
        _mark_lo(ctx, name, claim.me.mark())
        return {"created": False}
    ctx.forget(path)
    try:
        _maker().create(name)
    except Exception as exc:
        raise from_exception(exc, what=f"create netns {name}") from exc
    try:
        _mark_lo(ctx, name, claim.me.mark())
    except Exception:
        # An unmarked namespace would be refused as foreign by every later ensure.
        ctx.forget(path)
        with contextlib.suppress(Exception):
            _maker().remove(name)
        raise
    return {"created": True}


def netns_delete(ctx: Context, args: Args) -> Any:
    name, claim = check_name(args.text("name")), args.claim()
    path = f"{NETNS_DIR}/{name}"
    if not os.path.exists(path):
        return {"deleted": False}
    found = _owner_mark(ctx, name)
    if not claim.mine(parse_mark(found)):
        return {"deleted": False, "kept": claim.kept(found)}
    # Our own socket inside would keep the namespace alive.
    ctx.forget(path)
    try:
        _maker().remove(name)
    except FileNotFoundError:
        return {"deleted": False}
    except Exception as exc:
        raise from_exception(exc, what=f"delete netns {name}") from exc
    return {"deleted": True}


def netns_list(ctx: Context, args: Args) -> Any:
    return select.netns_list({"netns": list_netns(ctx)})


def netns_read(ctx: Context, args: Args) -> Any:
    name = check_name(args.text("name"))
    found = []
    if os.path.exists(f"{NETNS_DIR}/{name}"):
        found.append({"name": name, "owner": _owner(ctx, name)})
    return select.netns_read({"netns": found}, name=name)


def _owner(ctx: Context, name: str) -> dict[str, Any] | None:
    return owner_view(_owner_mark(ctx, name))


def list_netns(ctx: Context) -> list[dict[str, Any]]:
    return [{"name": name, "owner": _owner(ctx, name)} for name in named()]


def netns_resolve(ctx: Context, args: Args) -> Any:
    ns = ctx.netns(args.ref("ref"))
    path = ns.path or (None if ns.missing else f"/proc/{os.getpid()}/ns/net")
    exists = ns.exists()
    inode = os.stat(path).st_ino if exists and path else None
    return {"path": path, "exists": exists, "inode": inode}
