"""Reading links: lookups by name or index and the LINK object ops return."""

from __future__ import annotations

import ipaddress
from typing import Any

from .context import Net
from .owner import owner_view
from .rtnl import IFF_PROMISC, IFF_UP, AddrMsg, LinkMsg

# Scopes of addresses a LINK reports: global (0) and site (200); link and host
# scope (fe80::/64, 127.0.0.1) belong to the kernel.
_REPORTED_SCOPES = (0, 200)
_VXLAN_KEYS = ("id", "local", "remote", "group", "port", "dev", "ttl", "learning")


def cidr(msg: AddrMsg) -> str:
    return str(ipaddress.ip_interface(f"{msg.address}/{msg.prefixlen}"))


def reported(msg: AddrMsg) -> bool:
    return msg.scope in _REPORTED_SCOPES and msg.address is not None


def addresses(net: Net, index: int) -> list[str]:
    """Global and site addresses of one link, in the kernel's order."""
    return [cidr(m) for m in net.rt.addrs(index=index) if reported(m)]


def address_map(net: Net) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for m in net.rt.addrs():
        if reported(m):
            found.setdefault(m.index, []).append(cidr(m))
    return found


def view(msg: LinkMsg, *, names: dict[int, str], addrs: list[str]) -> dict[str, Any]:
    """The LINK object; ``names`` maps ifindex to ifname for master and vxlan dev."""
    link: dict[str, Any] = {
        "ifindex": msg.index,
        "ifname": msg.ifname,
        "kind": msg.kind,
        "mac": msg.mac,
        "mtu": msg.mtu,
        "up": bool(msg.flags & IFF_UP),
        "operstate": msg.operstate,
        "master": names.get(msg.master, str(msg.master)) if msg.master else None,
        "alias": msg.alias,
        "owner": owner_view(msg.alias),
        "promisc": bool(msg.flags & IFF_PROMISC),
        "addresses": addrs,
        "peer_ifindex": msg.link if msg.kind == "veth" else None,
    }
    if msg.vxlan is not None:
        vxlan = dict(msg.vxlan)
        target = vxlan.pop("group")
        multicast = target is not None and ipaddress.ip_address(target).is_multicast
        vxlan["remote"] = None if multicast else target
        vxlan["group"] = target if multicast else None
        dev = vxlan["dev"]
        vxlan["dev"] = names.get(dev, str(dev)) if dev else None
        link["vxlan"] = {k: vxlan[k] for k in _VXLAN_KEYS}
    return link


def read(net: Net, ifname: str) -> dict[str, Any] | None:
    """LINK for ``ifname`` or None: one get, one filtered address dump, names as needed."""
    msg = net.rt.get(ifname=ifname)
    return None if msg is None else read_msg(net, msg)


def read_msg(net: Net, msg: LinkMsg, *, fresh: bool = False) -> dict[str, Any]:
    """LINK for a message already fetched; ``fresh`` links have no addresses yet."""
    names: dict[int, str] = {}
    for index in (msg.master, msg.vxlan["dev"] if msg.vxlan else None):
        if index:
            other = net.rt.get(index=index)
            if other is not None and other.ifname is not None:
                names[index] = other.ifname
    addrs = [] if fresh else addresses(net, msg.index)
    return view(msg, names=names, addrs=addrs)


def read_all(net: Net) -> list[dict[str, Any]]:
    msgs = net.rt.dump()
    names = {m.index: m.ifname for m in msgs if m.ifname is not None}
    addrs = address_map(net)
    return [view(m, names=names, addrs=addrs.get(m.index, [])) for m in msgs]
