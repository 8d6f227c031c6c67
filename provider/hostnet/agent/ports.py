"""A NIC's own state while it serves a hostnet bridge, and giving it back.

Before a NIC joins a hostnet bridge as a port, or an uplink bridge takes it over,
the agent records what hostnet is about to change on it: admin state, promisc,
mtu and master (none: a NIC that already has a master is refused). Releasing it
restores each of them, so a NIC that was down comes back down. Its addresses and
routes stay on a port; an uplink's move to the bridge and back is uplink.py's.

Record: <run dir>/ports/<netns label>@<netns inode>/<ifname>, JSON
{owner, up, promisc, mtu}; the first state counts, and one owner per NIC.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.parse
from typing import Any

from .args import Args
from .context import Context, Net
from .errors import Exists, NotOwned
from .links import check_owned, link_attrs, require
from .linkview import read, read_msg
from .nsref import OWN_PATH, Netns
from .rtnl import IFF_PROMISC, IFF_UP, LinkMsg, ifinfo
from .rundir import ensure_dir, run_dir


def _path(ns: Netns, ifname: str) -> str | None:
    try:
        inode = os.stat(ns.path or OWN_PATH).st_ino
    except OSError:
        return None
    label = urllib.parse.quote(ns.label, safe="")
    return os.path.join(run_dir(), "ports", f"{label}@{inode}", ifname)


def _load(path: str | None) -> dict[str, Any] | None:
    try:
        with open(path or "") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def save(ns: Netns, msg: LinkMsg, *, owner: str) -> None:
    """Record the NIC's state before hostnet changes it (once per owner)."""
    path = _path(ns, str(msg.ifname))
    record = _load(path)
    if record is not None:
        if record.get("owner") != owner:
            raise NotOwned(f"{msg.ifname} is in use by {record.get('owner')!r}")
        return
    if path is None:
        return
    ensure_dir(os.path.dirname(path))
    state = {
        "owner": owner,
        "up": bool(msg.flags & IFF_UP),
        "promisc": bool(msg.flags & IFF_PROMISC),
        "mtu": msg.mtu,
    }
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)


def restore(net: Net, ns: Netns, ifname: str, *, owner: str, master: int) -> dict[str, Any] | None:
    """Out of ``master`` (an ifindex; 0: whatever it is) and back to the recorded
    state; without a record of this owner only the master is dropped."""
    path = _path(ns, ifname)
    record = _load(path)
    if record is not None and record.get("owner") != owner:
        raise NotOwned(f"{ifname} is in use by {record.get('owner')!r}")
    msg = net.rt.get(ifname=ifname)
    if msg is not None:
        flags = change = 0
        if record is not None:
            for key, bit in (("up", IFF_UP), ("promisc", IFF_PROMISC)):
                if bool(msg.flags & bit) != bool(record.get(key)):
                    change |= bit
                    flags |= bit if record.get(key) else 0
        mtu = record.get("mtu") if record is not None else None
        ours = bool(msg.master) and master in (0, msg.master)
        attrs = link_attrs(
            mtu=mtu if isinstance(mtu, int) and mtu != msg.mtu else None,
            master=0 if ours else None,
        )
        if attrs or change:
            # One request: the kernel drops the master before it applies flags.
            net.rt.change(ifinfo(index=msg.index, flags=flags, change=change), attrs)
    if path is not None and record is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return record


def port_attach(ctx: Context, args: Args) -> Any:
    """Make ``ifname`` an up port of the hostnet bridge ``master``."""
    ifname, bridge, owner = args.ifname(), args.ifname("master"), args.owner()
    net = ctx.net(args.ref())
    msg, br = require(net, ifname), require(net, bridge)
    check_owned(br, owner=owner)
    if msg.master and msg.master != br.index:
        raise Exists(f"{ifname} is already a port of another master (index {msg.master})")
    if msg.master == br.index and msg.flags & IFF_UP:
        return read_msg(net, msg)
    save(net.ns, msg, owner=owner)
    try:
        net.rt.change(
            ifinfo(index=msg.index, flags=IFF_UP, change=IFF_UP), link_attrs(master=br.index)
        )
    except OSError:
        restore(net, net.ns, ifname, owner=owner, master=br.index)
        raise
    ctx.link_index.clear()
    return read(net, ifname)


def port_release(ctx: Context, args: Args) -> Any:
    """``ifname`` out of the hostnet bridge ``master``, in the state it had before."""
    ifname, bridge, owner = args.ifname(), args.ifname("master"), args.owner()
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"released": False}
    net = ctx.net_at(ns)
    br = net.rt.get(ifname=bridge)
    if br is not None:
        check_owned(br, owner=owner)
    restored = restore(net, ns, ifname, owner=owner, master=br.index if br else -1)
    ctx.link_index.clear()
    return {"released": True, "restored": restored}
