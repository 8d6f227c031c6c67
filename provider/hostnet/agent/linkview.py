"""Reading links: lookups by name or index and the LINK object ops return."""

from __future__ import annotations

import errno
import ipaddress
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError

IFF_UP = 0x1
IFF_PROMISC = 0x100
KNOWN_KINDS = ("bridge", "veth", "vxlan")
# Scopes of addresses a LINK reports: global (0) and site (200); link and host
# scope (fe80::/64, 127.0.0.1) belong to the kernel.
_REPORTED_SCOPES = (0, 200)


def get_link(ipr: Any, ifname: str) -> Any | None:
    """The RTM_NEWLINK message of ``ifname``, or None; one request, no dump."""
    try:
        return ipr.link("get", ifname=ifname)[0]
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            return None
        raise


def get_index(ipr: Any, index: int) -> Any | None:
    try:
        return ipr.link("get", index=index)[0]
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            return None
        raise


def kind_of(msg: Any) -> str:
    """bridge/veth/vxlan, another rtnl kind (dummy, bond, ...) or "device" (NICs, lo)."""
    kind = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
    return str(kind) if kind else "device"


def alias_of(msg: Any) -> str | None:
    alias = msg.get("IFLA_IFALIAS")
    return str(alias) if alias else None


def cidr(msg: Any) -> str:
    return str(ipaddress.ip_interface(f"{msg.get('IFA_ADDRESS')}/{msg['prefixlen']}"))


def reported(msg: Any) -> bool:
    return msg["scope"] in _REPORTED_SCOPES and msg.get("IFA_ADDRESS") is not None


def addresses(ipr: Any, index: int) -> list[str]:
    """Global and site addresses of one link (kernel-side filtered dump)."""
    return [cidr(m) for m in ipr.addr("dump", index=index) if reported(m)]


def address_map(ipr: Any) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for m in ipr.addr("dump"):
        if reported(m):
            found.setdefault(m["index"], []).append(cidr(m))
    return found


def view(msg: Any, *, names: dict[int, str], addrs: list[str]) -> dict[str, Any]:
    """The LINK object; ``names`` maps ifindex to ifname for master and vxlan dev."""
    kind = kind_of(msg)
    flags = msg["flags"]
    master = msg.get("IFLA_MASTER")
    link: dict[str, Any] = {
        "ifindex": msg["index"],
        "ifname": msg.get("IFLA_IFNAME"),
        "kind": kind,
        "mac": msg.get("IFLA_ADDRESS"),
        "mtu": msg.get("IFLA_MTU"),
        "up": bool(flags & IFF_UP),
        "operstate": msg.get("IFLA_OPERSTATE"),
        "master": names.get(master, str(master)) if master else None,
        "alias": alias_of(msg),
        "promisc": bool(flags & IFF_PROMISC),
        "addresses": addrs,
        "peer_ifindex": msg.get("IFLA_LINK") if kind == "veth" else None,
    }
    if kind == "vxlan":
        link["vxlan"] = vxlan_view(msg, names)
    return link


def vxlan_view(msg: Any, names: dict[int, str]) -> dict[str, Any]:
    data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
    get = data.get if data is not None else (lambda _key: None)
    target = get("IFLA_VXLAN_GROUP") or get("IFLA_VXLAN_GROUP6")
    multicast = target is not None and ipaddress.ip_address(target).is_multicast
    dev = get("IFLA_VXLAN_LINK")
    return {
        "id": get("IFLA_VXLAN_ID"),
        "local": get("IFLA_VXLAN_LOCAL") or get("IFLA_VXLAN_LOCAL6"),
        "remote": None if multicast else target,
        "group": target if multicast else None,
        "port": get("IFLA_VXLAN_PORT"),
        "dev": names.get(dev, str(dev)) if dev else None,
    }


def read(ipr: Any, ifname: str) -> dict[str, Any] | None:
    """LINK for ``ifname`` or None: one get, one filtered address dump, names as needed."""
    msg = get_link(ipr, ifname)
    return None if msg is None else read_msg(ipr, msg)


def read_msg(ipr: Any, msg: Any, *, fresh: bool = False) -> dict[str, Any]:
    """LINK for a message already fetched; ``fresh`` links have no addresses yet."""
    names: dict[int, str] = {}
    wanted = [msg.get("IFLA_MASTER")]
    if kind_of(msg) == "vxlan":
        data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
        wanted.append(data.get("IFLA_VXLAN_LINK") if data is not None else None)
    for index in wanted:
        if index:
            other = get_index(ipr, index)
            if other is not None:
                names[index] = other.get("IFLA_IFNAME")
    addrs = [] if fresh else addresses(ipr, msg["index"])
    return view(msg, names=names, addrs=addrs)


def read_all(ipr: Any) -> list[dict[str, Any]]:
    msgs = list(ipr.link("dump"))
    names = {m["index"]: m.get("IFLA_IFNAME") for m in msgs}
    addrs = address_map(ipr)
    return [view(m, names=names, addrs=addrs.get(m["index"], [])) for m in msgs]
