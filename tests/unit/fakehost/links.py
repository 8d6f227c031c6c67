"""Link and address ops on the model, as hostnet.agent.links, veth and addresses do them."""

from __future__ import annotations

from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import Exists, Invalid, NotOwned
from hostnet.agent.links import opt_mac, opt_mtu, vxlan_same, vxlan_wanted
from hostnet.agent.owner import Claim, owner_view, parse_mark

from .common import check_owned, claimed_link, find_ns, link_view, require_link, require_ns
from .model import Host, Link, Netns


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
    ifname, claim, mtu, mac = args.ifname(), args.claim(), opt_mtu(args), opt_mac(args)
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
    claim, up, mtu = args.claim(), args.flag("up", default=False), opt_mtu(args)
    master = args.opt_ifname("master")
    master_ix = require_link(ns, master).ifindex if master is not None else None
    link, peer = ns.link(ifname), peer_ns.link(peer_ifname)
    if link is not None or peer is not None:
        return _existing(host, ns, peer_ns, args, link=link, peer=peer)
    attrs = {"up": up, "alias": claim.me.mark(), "mtu": mtu or 1500}
    link, peer = host.add_veth(ns, ifname, peer_ns, peer_ifname, **attrs)
    link.master = master_ix
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
    mtu, up, master = opt_mtu(args), args.opt_flag("up"), args.opt_ifname("master")
    if master is not None:
        link.master = require_link(ns, master).ifindex
    for side in (link, peer):
        side.alias = claim.me.mark()
        side.mtu = mtu or side.mtu
        if up is not None:
            side.up = up
    return {"link": link_view(host, ns, link), "peer": link_view(host, peer_ns, peer)}


def link_ensure_vxlan(host: Host, args: Args) -> Any:
    ifname, claim, mtu = args.ifname(), args.claim(), opt_mtu(args)
    want = vxlan_wanted(args)
    ns = require_ns(host, args)
    link = ns.link(ifname)
    if link is None:
        dev = require_link(ns, want["dev"]).ifindex if want["dev"] is not None else None
        if any(
            (other.vxlan or {}).get("id") == want["id"]
            and (other.vxlan or {}).get("port") == want["port"]
            for other in ns.links.values()
        ):
            # The kernel holds one device per VNI and port in a namespace (EEXIST).
            raise Exists(f"{ifname} appeared while being created")
        underlay = ns.links.get(dev) if dev else None
        made = {
            **want,
            "dev": dev,
            "ttl": want["ttl"] or 0,
            "learning": True if want["learning"] is None else want["learning"],
        }
        # Ethernet's 1500, capped by what the underlay leaves after the encapsulation.
        default_mtu = min(1500, underlay.mtu - 50) if underlay else 1500
        link = host.add_link(ns, ifname, kind="vxlan", alias=claim.me.mark(), vxlan=made)
        link.mtu = mtu or default_mtu
        return link_view(host, ns, link)
    _adoptable(link, claim, "vxlan")
    vxlan_same(ifname, have=link_view(host, ns, link)["vxlan"], want=want)
    link.mtu = mtu or link.mtu
    return link_view(host, ns, link)


def link_set(host: Host, args: Args) -> Any:
    ns = require_ns(host, args)
    link = require_link(ns, args.ifname())
    if args.has("owner"):
        check_owned(link, args.claim())
    elif any(args.has(k) for k in ("mtu", "mac", "alias")):
        raise Invalid(f"{args.op}: mtu, mac and alias change only links with an owner")
    mtu, mac, alias = opt_mtu(args), opt_mac(args), args.opt_text("alias")
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
    found = claimed_link(host, args, args.ifname(), args.claim())
    if isinstance(found, dict):
        return found
    host.delete_link(*found)
    return {"deleted": True}


# -- addresses ------------------------------------------------------------------


def addr_ensure(host: Host, args: Args) -> Any:
    cidr = args.interface("address")
    link = require_link(require_ns(host, args), args.ifname())
    return {"changed": host.add_address(link, cidr)}


def addr_delete(host: Host, args: Args) -> Any:
    cidr = args.interface("address")
    ns = find_ns(host, args)
    link = ns.link(args.ifname()) if ns is not None else None
    if ns is None or link is None:
        return {"changed": False}
    return {"changed": host.delete_address(ns, link, cidr)}


def addr_list(host: Host, args: Args) -> Any:
    ns = require_ns(host, args)
    ifname = args.opt_ifname("ifname")
    links = [require_link(ns, ifname)] if ifname is not None else list(ns.links.values())
    return [{"ifname": link.ifname, "address": a} for link in links for a in link.addresses]


def addr_replace(host: Host, args: Args) -> Any:
    """Add first, then remove; desired addresses a removed primary took along are
    added back at the end (as addresses.addr_replace)."""
    if not isinstance(args.raw("addresses"), list):
        raise Invalid(f"{args.op}: argument 'addresses' must be a list (empty removes all)")
    want, keep = args.interfaces("addresses"), args.interfaces("keep")
    ns = require_ns(host, args)
    link = require_link(ns, args.ifname())
    have = list(link.addresses)
    added = [a for a in want if a not in have and host.add_address(link, a)]
    removed = [
        a for a in have if a not in want and a not in keep and host.delete_address(ns, link, a)
    ]
    if removed:
        now = list(link.addresses)
        added += [a for a in want if a not in now and host.add_address(link, a) and a not in added]
    return {"added": added, "removed": removed}


# -- fdb (a vxlan device's static entries) -------------------------------------

FLOOD = "00:00:00:00:00:00"


def _entry(args: Args) -> dict[str, str]:
    return {"mac": opt_mac(args) or FLOOD, "dst": args.address("dst")}


def _device(host: Host, args: Args) -> Link | None:
    ns = find_ns(host, args)
    return ns.link(args.ifname()) if ns is not None else None


def entries(link: Link) -> list[dict[str, Any]]:
    """A vxlan device's FDB entries as fdb_list reports them, sorted."""
    return [dict(e) for e in sorted(link.fdb, key=lambda e: (e["mac"], e["dst"]))]


def fdb_list(host: Host, args: Args) -> Any:
    link = _device(host, args)
    if link is None:
        return None
    return {"owner": owner_view(link.alias), "entries": entries(link)}


def fdb_ensure(host: Host, args: Args) -> Any:
    entry, claim = _entry(args), args.claim()
    link = require_link(require_ns(host, args), args.ifname())
    check_owned(link, claim)
    if any(e["mac"] == entry["mac"] and e["dst"] == entry["dst"] for e in link.fdb):
        return {"changed": False}
    link.fdb.append({**entry, "permanent": True})
    return {"changed": True}


def fdb_delete(host: Host, args: Args) -> Any:
    entry = _entry(args)
    found = claimed_link(host, args, args.ifname(), args.claim())
    if isinstance(found, dict):
        return found
    link = found[1]
    learned = args.flag("learned", default=False)
    gone = [e for e in link.fdb if e["mac"] == entry["mac"] and e["dst"] == entry["dst"]]
    link.fdb = [
        e
        for e in link.fdb
        if e not in gone and not (learned and e["dst"] == entry["dst"] and not e["permanent"])
    ]
    return {"deleted": bool(gone)}
