"""A NIC's own state while it serves a hostnet bridge, and giving it back.

Before a NIC joins a hostnet bridge as a port, or an uplink bridge takes it over,
the agent records what hostnet is about to change on it: admin state, promisc,
mtu and master (none: a NIC that already has a master is refused). Releasing it
restores each of them, so a NIC that was down comes back down. Its addresses and
routes stay on a port; an uplink's move to the bridge and back is uplink.py's.

Record (records.py): kind ``ports``, key the NIC's name, {owner, up, promisc, mtu};
the first state counts. The owner is the bridge's resource instance (owner.py):
whoever takes the bridge over (a replacement, a renamed resource of the stack)
takes the record with it, so its delete can give the NIC back; anyone else leaves
the NIC be.
"""

from __future__ import annotations

from typing import Any

from .args import Args
from .context import Context, Net
from .errors import Exists, NotOwned
from .links import check_owned, link_attrs, require
from .linkview import read, read_msg
from .nsref import Netns
from .owner import MARK_PREFIX, Claim, parse_mark
from .records import load, record_path, remove
from .records import save as write_record
from .rtnl import IFF_PROMISC, IFF_UP, LinkMsg, ifinfo


def _recorded(ns: Netns, ifname: str, claim: Claim) -> tuple[str | None, dict[str, Any] | None]:
    """The record's path and the record if this resource may use it; NotOwned if
    another resource's record holds the NIC."""
    path = record_path(ns, kind="ports", key=ifname)
    record = load(path)
    if record is None:
        return path, None
    found = MARK_PREFIX + str(record.get("owner") or "")
    if not claim.takes_over(parse_mark(found)):
        raise NotOwned(f"{ifname} serves a bridge of {claim.kept(found)}")
    return path, record


def save(ns: Netns, msg: LinkMsg, *, claim: Claim) -> None:
    """Record the NIC's state before hostnet changes it (once per owner)."""
    path, record = _recorded(ns, str(msg.ifname), claim)
    if path is None:
        return
    state = record or {
        "up": bool(msg.flags & IFF_UP),
        "promisc": bool(msg.flags & IFF_PROMISC),
        "mtu": msg.mtu,
    }
    wanted = {**state, "owner": claim.me.body()}
    if wanted != record:
        write_record(path, wanted)


def restore(
    net: Net, ns: Netns, ifname: str, *, claim: Claim, master: int
) -> dict[str, Any] | None:
    """Out of ``master`` (an ifindex; 0: whatever it is) and back to the recorded
    state; without a record only the master is dropped."""
    path, record = _recorded(ns, ifname, claim)
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
    if record is not None:
        remove(path)
    return record


def port_attach(ctx: Context, args: Args) -> Any:
    """Make ``ifname`` an up port of the hostnet bridge ``master``."""
    ifname, bridge, claim = args.ifname(), args.ifname("master"), args.claim()
    net = ctx.net(args.ref())
    msg, br = require(net, ifname), require(net, bridge)
    check_owned(br, claim=claim)
    if msg.master and msg.master != br.index:
        raise Exists(f"{ifname} is already a port of another master (index {msg.master})")
    if msg.master == br.index and msg.flags & IFF_UP:
        save(net.ns, msg, claim=claim)  # a bridge taken over takes its ports' records
        return read_msg(net, msg)
    save(net.ns, msg, claim=claim)
    try:
        net.rt.change(
            ifinfo(index=msg.index, flags=IFF_UP, change=IFF_UP), link_attrs(master=br.index)
        )
    except OSError:
        restore(net, net.ns, ifname, claim=claim, master=br.index)
        raise
    ctx.link_index.clear()
    return read(net, ifname)


def port_release(ctx: Context, args: Args) -> Any:
    """``ifname`` out of the hostnet bridge ``master``, in the state it had before;
    a NIC of a bridge another resource owns now is left as it is."""
    ifname, bridge, claim = args.ifname(), args.ifname("master"), args.claim()
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"released": False}
    net = ctx.net_at(ns)
    br = net.rt.get(ifname=bridge)
    if br is not None and not claim.mine(parse_mark(br.alias)):
        return {"released": False, "kept": claim.kept(br.alias)}
    restored = restore(net, ns, ifname, claim=claim, master=br.index if br else -1)
    ctx.link_index.clear()
    return {"released": True, "restored": restored}
