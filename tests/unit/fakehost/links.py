"""Link and address ops on the model, as hostnet.agent.links, veth and addresses do them."""

from __future__ import annotations

import ipaddress
from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import Exists, Invalid, NotOwned
from hostnet.agent.owner import Claim, owner_view, parse_mark

from .common import check_owned, find_ns, link_view, require_link, require_ns
from .model import Host, Link, Netns


def _mtu(args: Args) -> int | None:
    return args.opt_integer("mtu", lo=68, hi=65535)


def _mac(args: Args) -> str | None:
    value = args.opt_text("mac")
    if value is None:
        return None
    value = value.lower()
    parts = value.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and set(p) <= set("0123456789abcdef") for p in parts):
        raise Invalid(f"{args.op}: argument 'mac' is not a MAC address: {value!r}")
    return value


def _adoptable(link: Link, claim: Claim, kind: str) -> None:
    """links.check_adoptable: refuse another kind or a claim the rule refuses; re-mark."""
    if link.kind != kind:
        raise Exists(f"{link.ifname} exists as a {link.kind} link, not a {kind}")
    if claim.check(link.alias, what=f"{kind} {link.ifname}"):
        link.alias = claim.me.mark()


def link_read(host: Host, args: Args) -> Any:
    ns = find_ns(host, args)
    if ns is None:
        return None
    link = ns.link(args.ifname())
    return None if link is None else link_view(host, ns, link)


def link_list(host: Host, args: Args) -> Any:
    ns = require_ns(host, args)
    return [link_view(host, ns, link) for link in ns.links.values()]


def link_ensure_bridge(host: Host, args: Args) -> Any:
    ifname, claim, mtu, mac = args.ifname(), args.claim(), _mtu(args), _mac(args)
    ns = require_ns(host, args)
    link = ns.link(ifname)
    if link is None:
        link = host.add_link(ns, ifname, kind="bridge", alias=claim.me.mark())
        link.mtu, link.mac = mtu or link.mtu, mac or link.mac
        return link_view(host, ns, link)
    _adoptable(link, claim, "bridge")
    link.mtu, link.mac = mtu or link.mtu, mac or link.mac
    return link_view(host, ns, link)


def link_ensure_veth(host: Host, args: Args) -> Any:
    ifname, peer_ifname = args.ifname(), args.ifname("peer_ifname")
    ns, peer_ns = require_ns(host, args), require_ns(host, args, "peer_netns")
    if ns is peer_ns and ifname == peer_ifname:
        raise Invalid(f"{args.op}: both ends are {ifname} in one namespace")
    claim, up, mtu = args.claim(), args.flag("up", default=False), _mtu(args)
    master = args.opt_ifname("master")
    master_ix = require_link(ns, master).ifindex if master is not None else None
    link, peer = ns.link(ifname), peer_ns.link(peer_ifname)
    if link is not None or peer is not None:
        return _existing(host, ns, peer_ns, args, link=link, peer=peer)
    mark = claim.me.mark()
    attrs = {"kind": "veth", "up": up, "alias": mark, "mtu": mtu or 1500}
    link = host.add_link(ns, ifname, master=master_ix, **attrs)
    peer = host.add_link(peer_ns, peer_ifname, **attrs)
    link.peer, peer.peer = (peer_ns.key, peer.ifindex), (ns.key, link.ifindex)
    return {"link": link_view(host, ns, link), "peer": link_view(host, peer_ns, peer)}


def _existing(
    host: Host, ns: Netns, peer_ns: Netns, args: Args, *, link: Link | None, peer: Link | None
) -> Any:
    """veth._existing: our own pair is reconciled, anything else refused."""
    ifname, peer_ifname, claim = args.ifname(), args.ifname("peer_ifname"), args.claim()
    if link is None:
        assert peer is not None
        refuse = Exists if claim.mine(parse_mark(peer.alias)) else NotOwned
        raise refuse(f"{peer_ifname} already exists in {peer_ns.label}")
    _adoptable(link, claim, "veth")
    if peer is None or link.peer != (peer_ns.key, peer.ifindex):
        raise Exists(f"veth {ifname} exists but its peer is not {peer_ifname} in {peer_ns.label}")
    mtu, up, master = _mtu(args), args.opt_flag("up"), args.opt_ifname("master")
    if master is not None:
        link.master = require_link(ns, master).ifindex
    for side in (link, peer):
        side.alias = claim.me.mark()
        side.mtu = mtu or side.mtu
        if up is not None:
            side.up = up
    return {"link": link_view(host, ns, link), "peer": link_view(host, peer_ns, peer)}


def link_ensure_vxlan(host: Host, args: Args) -> Any:
    ifname, claim, mtu = args.ifname(), args.claim(), _mtu(args)
    want = _vxlan_wanted(args)
    ns = require_ns(host, args)
    link = ns.link(ifname)
    if link is None:
        dev = require_link(ns, want["dev"]).ifindex if want["dev"] is not None else None
        underlay = ns.links.get(dev) if dev else None
        made = {
            **want,
            "dev": dev,
            "ttl": want["ttl"] or 0,
            "learning": True if want["learning"] is None else want["learning"],
        }
        default_mtu = (underlay.mtu if underlay else 1500) - 50
        link = host.add_link(ns, ifname, kind="vxlan", alias=claim.me.mark(), vxlan=made)
        link.mtu = mtu or default_mtu
        return link_view(host, ns, link)
    _adoptable(link, claim, "vxlan")
    have = link_view(host, ns, link)["vxlan"]
    differ = [
        k
        for k, v in want.items()
        if have.get(k) != v and not (v is None and k in ("ttl", "learning"))
    ]
    if differ:
        detail = ", ".join(f"{k} {have.get(k)} (want {want[k]})" for k in differ)
        raise Exists(f"vxlan {ifname} exists with {detail}; delete it to change these")
    link.mtu = mtu or link.mtu
    return link_view(host, ns, link)


def _vxlan_wanted(args: Args) -> dict[str, Any]:
    vni = args.integer("vni", lo=1, hi=2**24 - 1)
    local, remote, group = (args.opt_address(k) for k in ("local", "remote", "group"))
    if remote is not None and group is not None:
        raise Invalid(f"{args.op}: give remote or group, not both")
    if group is not None and not ipaddress.ip_address(group).is_multicast:
        raise Invalid(f"{args.op}: group {group} is not a multicast address")
    if remote is not None and ipaddress.ip_address(remote).is_multicast:
        raise Invalid(f"{args.op}: remote {remote} is a multicast address; use group")
    return {
        "id": vni,
        "local": local,
        "remote": remote,
        "group": group,
        "port": args.integer("dstport", default=4789, lo=1, hi=65535),
        "dev": args.opt_ifname("dev"),
        "ttl": args.opt_integer("ttl", lo=0, hi=255),
        "learning": args.opt_flag("learning"),
    }


def link_set(host: Host, args: Args) -> Any:
    ns = require_ns(host, args)
    link = require_link(ns, args.ifname())
    if args.has("owner"):
        check_owned(link, args.claim())
    elif any(args.has(k) for k in ("mtu", "mac", "alias")):
        raise Invalid(f"{args.op}: mtu, mac and alias change only links with an owner")
    mtu, mac, alias = _mtu(args), _mac(args), args.opt_text("alias")
    if args.present("master"):
        master = args.raw("master")
        if master is not None and not isinstance(master, str):
            raise Invalid(f"{args.op}: argument 'master' must be an interface name or ''")
        # The kernel applies master before flags: a port joins before it comes up.
        link.master = require_link(ns, args.ifname("master")).ifindex if master else None
    link.mtu, link.mac = mtu or link.mtu, mac or link.mac
    link.alias = alias if alias is not None else link.alias
    promisc = args.opt_flag("promisc")
    link.promisc = link.promisc if promisc is None else promisc
    up = args.opt_flag("up")
    if up is True:
        link.up = True
    elif up is False and link.up:
        host.set_down(ns, link)
    return link_view(host, ns, link)


def link_delete(host: Host, args: Args) -> Any:
    ifname, claim = args.ifname(), args.claim()
    ns = find_ns(host, args)
    link = ns.link(ifname) if ns is not None else None
    if ns is None or link is None:
        return {"deleted": False}
    if not claim.mine(parse_mark(link.alias)):
        return {"deleted": False, "kept": claim.kept(link.alias)}
    host.delete_link(ns, link)
    return {"deleted": True}


# -- addresses ------------------------------------------------------------------


def addr_ensure(host: Host, args: Args) -> Any:
    cidr = args.interface("address")
    link = require_link(require_ns(host, args), args.ifname())
    if cidr in link.addresses:
        return {"changed": False}
    link.addresses.append(cidr)
    return {"changed": True}


def addr_delete(host: Host, args: Args) -> Any:
    cidr = args.interface("address")
    ns = find_ns(host, args)
    link = ns.link(args.ifname()) if ns is not None else None
    if link is None or cidr not in link.addresses:
        return {"changed": False}
    link.addresses.remove(cidr)
    return {"changed": True}


def addr_list(host: Host, args: Args) -> Any:
    ns = require_ns(host, args)
    ifname = args.opt_ifname("ifname")
    links = [require_link(ns, ifname)] if ifname is not None else list(ns.links.values())
    return [{"ifname": link.ifname, "address": a} for link in links for a in link.addresses]


def addr_replace(host: Host, args: Args) -> Any:
    if not isinstance(args.raw("addresses"), list):
        raise Invalid(f"{args.op}: argument 'addresses' must be a list (empty removes all)")
    want, keep = args.interfaces("addresses"), args.interfaces("keep")
    link = require_link(require_ns(host, args), args.ifname())
    added = [a for a in want if a not in link.addresses]
    removed = [a for a in link.addresses if a not in want and a not in keep]
    link.addresses = [a for a in link.addresses if a not in removed] + added
    return {"added": added, "removed": removed}


# -- fdb (a vxlan device's static entries) -------------------------------------

FLOOD = "00:00:00:00:00:00"


def _entry(args: Args) -> dict[str, str]:
    return {"mac": _mac(args) or FLOOD, "dst": args.address("dst")}


def _device(host: Host, args: Args) -> Link | None:
    ns = find_ns(host, args)
    return ns.link(args.ifname()) if ns is not None else None


def fdb_list(host: Host, args: Args) -> Any:
    link = _device(host, args)
    if link is None:
        return None
    entries = sorted(link.fdb, key=lambda e: (e["mac"], e["dst"]))
    return {"owner": owner_view(link.alias), "entries": [dict(e) for e in entries]}


def fdb_ensure(host: Host, args: Args) -> Any:
    entry, claim = _entry(args), args.claim()
    link = require_link(require_ns(host, args), args.ifname())
    check_owned(link, claim)
    if any(e["mac"] == entry["mac"] and e["dst"] == entry["dst"] for e in link.fdb):
        return {"changed": False}
    link.fdb.append({**entry, "permanent": True})
    return {"changed": True}


def fdb_delete(host: Host, args: Args) -> Any:
    entry, claim = _entry(args), args.claim()
    link = _device(host, args)
    if link is None:
        return {"deleted": False}
    if not claim.mine(parse_mark(link.alias)):
        return {"deleted": False, "kept": claim.kept(link.alias)}
    learned = args.flag("learned", default=False)
    gone = [e for e in link.fdb if e["mac"] == entry["mac"] and e["dst"] == entry["dst"]]
    link.fdb = [
        e
        for e in link.fdb
        if e not in gone and not (learned and e["dst"] == entry["dst"] and not e["permanent"])
    ]
    return {"deleted": bool(gone)}
