"""Taking over an uplink NIC with a bridge, and giving it back, in one op each.

The NIC carries the host's own traffic (often the SSH session that sent the op),
so every step runs here in one go: the bridge gets the NIC's MAC (neighbours'
ARP caches stay valid), the NIC becomes its port, the NIC's addresses move to
the bridge, the bridge comes up, and only then the NIC's routes are put back
through the bridge (a route through a bridge that is still down cannot be
added). A failure undoes the steps done so far. The NIC's admin state, promisc
and mtu are recorded first (ports.py) and restored when it is given back.
"""

from __future__ import annotations

import contextlib
from typing import Any

from . import ports, rtroute
from .args import Args
from .context import Context, Net
from .errors import Exists, NotFound
from .links import check_owned, link_attrs
from .linkview import read
from .owner import parse_mark
from .rtnl import IFF_UP, RTM_DELADDR, RTM_NEWADDR, ifinfo

RT_TABLE_LOCAL = 255
RTPROT_KERNEL = 2


def _addresses(net: Net, index: int) -> list[dict[str, Any]]:
    found = []
    for msg in net.rt.addrs(index=index):
        if msg.scope != 0:
            continue  # link-local addresses belong to the link, not to the network
        found.append({"address": msg.address, "prefixlen": msg.prefixlen, "family": msg.family})
    return found


def _routes(net: Net, index: int) -> list[dict[str, Any]]:
    """Routes through the link that the kernel will not re-create by itself."""
    found = []
    for family in (2, 10):
        for msg in rtroute.route_dump(net.rt, family=family):
            table = msg.get("RTA_TABLE") or msg["table"]
            if msg.get("RTA_OIF") != index or table == RT_TABLE_LOCAL:
                continue
            if msg["proto"] == RTPROT_KERNEL or (
                family == 10 and str(msg.get("RTA_DST") or "").startswith("fe80")
            ):
                continue
            spec: dict[str, Any] = {
                "family": family,
                "dst": msg.get("RTA_DST"),
                "dst_len": msg["dst_len"],
                "table": table,
                "proto": msg["proto"],
                "scope": msg["scope"],
                "type": msg["type"],
            }
            for attr, key in (
                ("RTA_GATEWAY", "gateway"),
                ("RTA_PRIORITY", "priority"),
                ("RTA_PREFSRC", "prefsrc"),
            ):
                if msg.get(attr) is not None:
                    spec[key] = msg.get(attr)
            found.append(spec)
    # Routes without a gateway first: a gateway needs its connected route in place.
    return sorted(found, key=lambda r: "gateway" in r)


def _move(net: Net, *, src: int, dst: int, addresses: list[dict[str, Any]]) -> None:
    for a in addresses:
        where = {"address": a["address"], "prefixlen": a["prefixlen"]}
        with contextlib.suppress(OSError):
            net.rt.addr_change(RTM_DELADDR, index=src, **where)
        net.rt.addr_change(RTM_NEWADDR, index=dst, replace=True, **where)


def _restore_routes(net: Net, *, oif: int, routes: list[dict[str, Any]]) -> None:
    for route in routes:
        spec = {k: v for k, v in route.items() if v is not None}
        if spec.get("dst") is None:
            spec.pop("dst", None)
        rtroute.route(net.rt, "replace", {**spec, "oif": oif})


def _view(
    net: Net, addresses: list[dict[str, Any]], routes: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "addresses": [f"{a['address']}/{a['prefixlen']}" for a in addresses],
        "routes": [
            f"{r.get('dst') or 'default'}{'/' + str(r['dst_len']) if r.get('dst') else ''}"
            + (f" via {r['gateway']}" if r.get("gateway") else "")
            for r in routes
        ],
    }


def uplink_takeover(ctx: Context, args: Args) -> Any:
    bridge, nic, claim = args.text("bridge"), args.text("nic"), args.claim()
    net = ctx.net(args.ref())
    br, port = net.rt.get(ifname=bridge), net.rt.get(ifname=nic)
    if br is None or port is None:
        raise NotFound(f"{bridge if br is None else nic} does not exist")
    check_owned(br, claim=claim)
    if port.master == br.index:
        ports.save(net.ns, port, claim=claim)  # a bridge taken over takes the NIC's record
        return {"changed": False, **_view(net, _addresses(net, br.index), _routes(net, br.index))}
    if port.master:
        raise Exists(f"{nic} is already a port of another master (index {port.master})")
    addresses, routes = _addresses(net, port.index), _routes(net, port.index)
    ports.save(net.ns, port, claim=claim)
    try:
        net.rt.change(ifinfo(index=br.index), link_attrs(mac=port.mac))
        net.rt.change(ifinfo(index=port.index), link_attrs(master=br.index))
        _move(net, src=port.index, dst=br.index, addresses=addresses)
        net.rt.change(ifinfo(index=br.index, flags=IFF_UP, change=IFF_UP))
        _restore_routes(net, oif=br.index, routes=routes)
    except OSError:
        _give_back(net, br=br.index, port=port.index, addresses=addresses, routes=routes)
        ports.restore(net, net.ns, nic, claim=claim, master=br.index)
        raise
    ctx.link_index.clear()
    return {"changed": True, **_view(net, addresses, routes)}


def _give_back(
    net: Net, *, br: int, port: int, addresses: list[dict[str, Any]], routes: list[dict[str, Any]]
) -> None:
    with contextlib.suppress(OSError):
        net.rt.change(ifinfo(index=port), link_attrs(master=0))
    _move(net, src=br, dst=port, addresses=addresses)
    net.rt.change(ifinfo(index=port, flags=IFF_UP, change=IFF_UP))
    _restore_routes(net, oif=port, routes=routes)


def uplink_release(ctx: Context, args: Args) -> Any:
    """Addresses and routes back onto the NIC, then the bridge deleted (unless kept)."""
    bridge, nic, claim = args.text("bridge"), args.text("nic"), args.claim()
    keep = args.flag("keep_bridge", default=False)
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"deleted": False}
    net = ctx.net_at(ns)
    br, port = net.rt.get(ifname=bridge), net.rt.get(ifname=nic)
    if br is None:
        return {"deleted": False}
    if not claim.mine(parse_mark(br.alias)):
        return {"deleted": False, "kept": claim.kept(br.alias)}
    addresses, routes = _addresses(net, br.index), _routes(net, br.index)
    if port is not None:
        _give_back(net, br=br.index, port=port.index, addresses=addresses, routes=routes)
        # Admin state, promisc and mtu as they were before the takeover.
        ports.restore(net, ns, nic, claim=claim, master=0)
    if not keep:
        net.rt.delete(br.index)
    ctx.link_index.clear()
    return {"deleted": not keep, **_view(net, addresses, routes), "nic": read(net, nic)}
