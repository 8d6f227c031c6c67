"""Bridge ports and uplink takeover on the model, as hostnet.agent.ports and uplink do them.

A NIC's state (up, promisc, mtu) is recorded before hostnet changes it (record kind
``ports``, keyed by the NIC's name) and given back on release.
"""

from __future__ import annotations

from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import Exists, NotFound, NotOwned
from hostnet.agent.owner import MARK_PREFIX, Claim, parse_mark

from .common import check_owned, claimed_link, find_ns, link_view, require_link, require_ns
from .model import RTPROT_KERNEL, Host, Link, Netns, Route


def _recorded(host: Host, ns: Netns, ifname: str, claim: Claim) -> dict[str, Any] | None:
    record = host.records.get(host.record_key(ns, "ports", ifname))
    if record is None:
        return None
    found = MARK_PREFIX + str(record.get("owner") or "")
    if not claim.takes_over(parse_mark(found)):
        raise NotOwned(f"{ifname} serves a bridge of {claim.kept(found)}")
    return record


def _save(host: Host, ns: Netns, link: Link, claim: Claim) -> None:
    record = _recorded(host, ns, link.ifname, claim)
    state = record or {"up": link.up, "promisc": link.promisc, "mtu": link.mtu}
    host.records[host.record_key(ns, "ports", link.ifname)] = {
        **state,
        "owner": claim.me.body(),
    }


def _restore(
    host: Host, ns: Netns, ifname: str, *, claim: Claim, master: int
) -> dict[str, Any] | None:
    record = _recorded(host, ns, ifname, claim)
    link = ns.link(ifname)
    if link is not None:
        if link.master and master in (0, link.master):
            link.master = None
        if record is not None:
            link.promisc = bool(record.get("promisc"))
            link.mtu = record["mtu"] if isinstance(record.get("mtu"), int) else link.mtu
            if record.get("up"):
                link.up = True
            elif link.up:
                host.set_down(ns, link)
    if record is not None:
        del host.records[host.record_key(ns, "ports", ifname)]
    return record


def port_attach(host: Host, args: Args) -> Any:
    ifname, bridge, claim = args.ifname(), args.ifname("master"), args.claim()
    ns = require_ns(host, args)
    link, br = require_link(ns, ifname), require_link(ns, bridge)
    check_owned(br, claim)
    if link.master and link.master != br.ifindex:
        raise Exists(f"{ifname} is already a port of another master (index {link.master})")
    if link.master == br.ifindex and link.up:
        _save(host, ns, link, claim)
        return link_view(host, ns, link)
    _save(host, ns, link, claim)
    link.master, link.up = br.ifindex, True
    return link_view(host, ns, link)


def port_release(host: Host, args: Args) -> Any:
    ifname, bridge, claim = args.ifname(), args.ifname("master"), args.claim()
    ns = find_ns(host, args)
    if ns is None:
        return {"released": False}
    br = ns.link(bridge)
    if br is not None and not claim.mine(parse_mark(br.alias)):
        return {"released": False, "kept": claim.kept(br.alias)}
    restored = _restore(host, ns, ifname, claim=claim, master=br.ifindex if br else -1)
    return {"released": True, "restored": restored}


def _movable(ns: Netns, index: int) -> list[Route]:
    """uplink._routes: routes through the link the kernel does not make by itself."""
    found = [r for r in ns.routes if r.oif == index and r.proto != RTPROT_KERNEL]
    return sorted(found, key=lambda r: r.via is not None)


def _move(
    host: Host, ns: Netns, *, src: Link, dst: Link, addresses: list[str], routes: list[Route]
) -> None:
    for address in addresses:
        host.delete_address(ns, src, address)
        host.add_address(dst, address)
    for route in routes:
        route.oif = dst.ifindex
        if route not in ns.routes:
            ns.routes.append(route)


def _view(addresses: list[str], routes: list[Route]) -> dict[str, Any]:
    return {
        "addresses": list(addresses),
        "routes": [
            (f"{r.dst}/{r.dst_len}" if r.dst else "default") + (f" via {r.via}" if r.via else "")
            for r in routes
        ],
    }


def uplink_takeover(host: Host, args: Args) -> Any:
    bridge, nic, claim = args.text("bridge"), args.text("nic"), args.claim()
    ns = require_ns(host, args)
    br, port = ns.link(bridge), ns.link(nic)
    if br is None or port is None:
        raise NotFound(f"{bridge if br is None else nic} does not exist")
    check_owned(br, claim)
    if port.master == br.ifindex:
        _save(host, ns, port, claim)
        return {"changed": False, **_view(br.addresses, _movable(ns, br.ifindex))}
    if port.master:
        raise Exists(f"{nic} is already a port of another master (index {port.master})")
    addresses = [a for a in port.addresses if not a.startswith("fe80")]
    routes = _movable(ns, port.ifindex)
    _save(host, ns, port, claim)
    br.mac, port.master = port.mac, br.ifindex
    _move(host, ns, src=port, dst=br, addresses=addresses, routes=routes)
    br.up = True
    return {"changed": True, **_view(addresses, routes)}


def uplink_release(host: Host, args: Args) -> Any:
    bridge, nic, claim = args.text("bridge"), args.text("nic"), args.claim()
    keep = args.flag("keep_bridge", default=False)
    found = claimed_link(host, args, bridge, claim)
    if isinstance(found, dict):
        return found
    ns, br = found
    port = ns.link(nic)
    addresses, routes = list(br.addresses), _movable(ns, br.ifindex)
    if port is not None:
        port.master = None
        _move(host, ns, src=br, dst=port, addresses=addresses, routes=routes)
        port.up = True
        _restore(host, ns, nic, claim=claim, master=0)
    if not keep:
        host.delete_link(ns, br)
    view = link_view(host, ns, port) if port is not None else None
    return {"deleted": not keep, **_view(addresses, routes), "nic": view}
