"""FDB ops of a vxlan device: the static entries that send frames to remote VTEPs.

An entry is (mac, dst): frames for ``mac`` go to the VTEP at ``dst``. The
all-zero MAC is the flooding entry (``bridge fdb append ... 00:00:00:00:00:00
dst X``): broadcast, multicast and unknown unicast go to every such ``dst``.

The kernel keeps no alias on an FDB entry, so an entry has no mark of its own:
the vxlan device's mark covers the entries on it, which die with it. Ensure and
delete therefore take the device's owner and act only on a device whose mark is
the claimant's (its ensure took it over first, if that was allowed); what is on
someone else's device is refused (ensure) or left (delete).
"""

from __future__ import annotations

from typing import Any

from . import select
from .args import Args
from .context import Context, Net
from .links import check_owned, opt_mac, require
from .owner import owner_view, parse_mark
from .rtnl import LinkMsg

FLOOD = "00:00:00:00:00:00"
# NUD_NOARP | NUD_PERMANENT and NTF_SELF: a static entry in the device's own FDB
# (not its bridge's), as `bridge fdb append ... self permanent`.
_ENTRY = {"state": 0x40 | 0x80, "flags": 0x02}


def _entries(net: Net, index: int) -> list[dict[str, Any]]:
    found = []
    for msg in net.ipr.fdb("dump", ifindex=index):
        dst = msg.get("NDA_DST")
        if msg["ifindex"] != index or dst is None:
            continue  # a bridge's own entries for this port carry no VTEP
        found.append(
            {
                "mac": str(msg.get("NDA_LLADDR") or FLOOD).lower(),
                "dst": str(dst),
                "permanent": bool(msg["state"] & 0x80),
            }
        )
    return sorted(found, key=lambda e: (e["mac"], e["dst"]))


def _wanted(args: Args) -> dict[str, str]:
    return {"mac": opt_mac(args) or FLOOD, "dst": args.address("dst")}


def _present(entries: list[dict[str, Any]], entry: Any) -> bool:
    return any(e["mac"] == entry["mac"] and e["dst"] == entry["dst"] for e in entries)


def _device(ctx: Context, args: Args) -> tuple[Net, LinkMsg] | None:
    """The device, or None when it or its namespace is gone (never created)."""
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    net = ctx.net_at(ns)
    msg = net.rt.get(ifname=args.ifname())
    return None if msg is None else (net, msg)


def fdb_list(ctx: Context, args: Args) -> Any:
    """The device's owner and its entries with a VTEP (``dst``), sorted; None when
    the device is gone."""
    found = _device(ctx, args)
    if found is None:
        return None
    net, msg = found
    return select.fdb_list(device_part(net, msg), ifname=args.ifname())


def device_part(net: Net, msg: LinkMsg) -> dict[str, Any]:
    """A snapshot's net part as far as one device's FDB goes."""
    link = {"ifname": msg.ifname, "owner": owner_view(msg.alias)}
    return {"links": [link], "fdb": {msg.ifname: _entries(net, msg.index)}}


def entries_of(net: Net, links: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The entries of every vxlan link (a snapshot's ``fdb``)."""
    return {
        link["ifname"]: _entries(net, link["ifindex"]) for link in links if link["kind"] == "vxlan"
    }


def fdb_ensure(ctx: Context, args: Args) -> Any:
    entry, claim = _wanted(args), args.claim()
    net = ctx.net(args.ref())
    msg = require(net, args.ifname())
    check_owned(msg, claim=claim)
    if _present(_entries(net, msg.index), entry):
        return {"changed": False}
    net.ipr.fdb("append", ifindex=msg.index, lladdr=entry["mac"], dst=entry["dst"], **_ENTRY)
    return {"changed": True}


def fdb_delete(ctx: Context, args: Args) -> Any:
    entry, claim = _wanted(args), args.claim()
    found = _device(ctx, args)
    if found is None:
        return {"deleted": False}
    net, msg = found
    if not claim.mine(parse_mark(msg.alias)):
        return {"deleted": False, "kept": claim.kept(msg.alias)}
    entries = _entries(net, msg.index)
    # A peer that goes takes the MACs learned behind it along: left, they would
    # keep sending to it until they age out.
    learned = [
        e for e in entries if args.flag("learned", default=False) and e["dst"] == entry["dst"]
    ]
    gone = [e for e in entries if e["mac"] == entry["mac"] and e["dst"] == entry["dst"]]
    for e in gone + [e for e in learned if not e["permanent"]]:
        net.ipr.fdb("del", ifindex=msg.index, lladdr=e["mac"], dst=e["dst"], **_ENTRY)
    return {"deleted": bool(gone)}
