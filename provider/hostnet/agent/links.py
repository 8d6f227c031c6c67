"""Link ops: read, list, ensure bridge/vxlan, set, delete (veth pairs: veth.py).

A link hostnet creates carries its owner's mark as alias (owner.py). An existing
link is taken only when its kind matches and the claim rule allows; otherwise
ensure refuses (Exists or NotOwned) and leaves it untouched.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import re
from typing import Any

from . import select
from .args import Args
from .context import Context, Net
from .errors import Exists, Invalid, NotFound, NotOwned, from_exception
from .linkview import read, read_all, read_msg, view
from .owner import Claim, parse_mark
from .rtnl import (
    IFF_PROMISC,
    IFF_UP,
    IFLA_ADDRESS,
    IFLA_IFALIAS,
    IFLA_IFNAME,
    IFLA_INFO_DATA,
    IFLA_INFO_KIND,
    IFLA_LINKINFO,
    IFLA_MASTER,
    IFLA_MTU,
    LinkMsg,
    ifinfo,
    nla,
    nla_str,
    nla_u32,
    vxlan_data,
)

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def opt_mac(args: Args, key: str = "mac") -> str | None:
    value = args.opt_text(key)
    if value is None:
        return None
    value = value.lower()
    if not _MAC.match(value):
        raise Invalid(f"{args.op}: argument {key!r} is not a MAC address: {value!r}")
    return value


def opt_mtu(args: Args) -> int | None:
    return args.opt_integer("mtu", lo=68, hi=65535)


def link_attrs(
    *,
    ifname: str | None = None,
    mtu: int | None = None,
    mac: str | None = None,
    master: int | None = None,
    alias: str | None = None,
) -> bytes:
    """IFLA attributes of a create or change request (None: leave as is)."""
    parts = []
    if ifname is not None:
        parts.append(nla_str(IFLA_IFNAME, ifname))
    if mtu is not None:
        parts.append(nla_u32(IFLA_MTU, mtu))
    if mac is not None:
        parts.append(nla(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", ""))))
    if master is not None:
        parts.append(nla_u32(IFLA_MASTER, master))
    if alias is not None:
        parts.append(nla(IFLA_IFALIAS, alias.encode()))
    return b"".join(parts)


def linkinfo(kind: str, data: bytes = b"") -> bytes:
    inner = nla_str(IFLA_INFO_KIND, kind) + (nla(IFLA_INFO_DATA, data) if data else b"")
    return nla(IFLA_LINKINFO, inner)


def check_adoptable(msg: LinkMsg, *, claim: Claim, kind: str) -> bool:
    """Refuse a link of another kind (Exists) or one the claim may not take
    (NotOwned); True when its mark must be rewritten to the claimant's."""
    if msg.kind != kind:
        raise Exists(f"{msg.ifname} exists as a {msg.kind} link, not a {kind}")
    return claim.check(msg.alias, what=f"{kind} {msg.ifname}")


def check_owned(msg: LinkMsg, *, claim: Claim) -> None:
    if not claim.mine(parse_mark(msg.alias)):
        raise NotOwned(f"{msg.ifname} belongs to {claim.kept(msg.alias)}, not to this resource")


def require(net: Net, ifname: str) -> LinkMsg:
    msg = net.rt.get(ifname=ifname)
    if msg is None:
        raise NotFound(f"{ifname} does not exist")
    return msg


def master_index(ctx: Context, net: Net, master: str) -> int:
    """The ifindex of ``master``, looked up once per request."""
    key = (net.ns.path, master)
    index = ctx.link_index.get(key)
    if index is None:
        index = ctx.link_index[key] = require(net, master).index
    return index


def create_marked(net: Net, header: bytes, attrs: bytes, *, ifname: str, claim: Claim) -> LinkMsg:
    """Create a link and mark it; a link that cannot be marked is removed again.

    The kernel ignores IFLA_IFALIAS in a create request, hence the second step.
    """
    try:
        msg = net.rt.create(header, attrs) or require(net, ifname)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise Exists(f"{ifname} appeared while being created") from None
        raise from_exception(exc, what=f"create {ifname}") from exc
    try:
        net.rt.change(ifinfo(index=msg.index), link_attrs(alias=claim.me.mark()))
    except Exception as exc:
        with contextlib.suppress(Exception):
            net.rt.delete(msg.index)
        raise from_exception(exc, what=f"mark {ifname}") from exc
    msg.alias = claim.me.mark()
    return msg


def link_read(ctx: Context, args: Args) -> Any:
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    ifname = args.ifname()
    found = read(ctx.net_at(ns), ifname)
    return select.link_read({"links": [] if found is None else [found]}, ifname=ifname)


def link_list(ctx: Context, args: Args) -> Any:
    return select.link_list({"links": read_all(ctx.net(args.ref()))})


def link_ensure_bridge(ctx: Context, args: Args) -> Any:
    ifname, claim = args.ifname(), args.claim()
    mtu, mac = opt_mtu(args), opt_mac(args)
    net = ctx.net(args.ref())
    msg = net.rt.get(ifname=ifname)
    if msg is None:
        attrs = link_attrs(ifname=ifname, mtu=mtu, mac=mac) + linkinfo("bridge")
        msg = create_marked(net, ifinfo(), attrs, ifname=ifname, claim=claim)
        return view(msg, names={}, addrs=[])
    remark = check_adoptable(msg, claim=claim, kind="bridge")
    change = link_attrs(
        mtu=mtu if mtu is not None and msg.mtu != mtu else None,
        mac=mac if mac is not None and msg.mac != mac else None,
        alias=claim.me.mark() if remark else None,
    )
    if change:
        net.rt.change(ifinfo(index=msg.index), change)
        return read(net, ifname)
    return read_msg(net, msg)


def vxlan_same(ifname: str, *, have: dict[str, Any], want: dict[str, Any]) -> None:
    """A vxlan device's identity cannot change in place: refuse one that differs."""
    differ = [
        k
        for k, v in want.items()
        if have.get(k) != v and not (v is None and k in ("ttl", "learning"))
    ]
    if differ:
        detail = ", ".join(f"{k} {have.get(k)} (want {want[k]})" for k in differ)
        raise Exists(f"vxlan {ifname} exists with {detail}; delete it to change these")


def vxlan_wanted(args: Args) -> dict[str, Any]:
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
        # None: the kernel's default, not compared with an existing device.
        "ttl": args.opt_integer("ttl", lo=0, hi=255),
        "learning": args.opt_flag("learning"),
    }


def link_ensure_vxlan(ctx: Context, args: Args) -> Any:
    ifname, claim, mtu = args.ifname(), args.claim(), opt_mtu(args)
    want = vxlan_wanted(args)
    net = ctx.net(args.ref())
    msg = net.rt.get(ifname=ifname)
    if msg is None:
        dev = master_index(ctx, net, want["dev"]) if want["dev"] is not None else None
        data = vxlan_data(
            vni=want["id"],
            port=want["port"],
            local=want["local"],
            target=want["remote"] or want["group"],
            dev=dev,
            ttl=want["ttl"],
            learning=want["learning"],
        )
        attrs = link_attrs(ifname=ifname, mtu=mtu) + linkinfo("vxlan", data)
        create_marked(net, ifinfo(), attrs, ifname=ifname, claim=claim)
        return read(net, ifname)
    if check_adoptable(msg, claim=claim, kind="vxlan"):
        net.rt.change(ifinfo(index=msg.index), link_attrs(alias=claim.me.mark()))
        msg.alias = claim.me.mark()
    link = read_msg(net, msg)
    vxlan_same(ifname, have=link["vxlan"], want=want)
    if mtu is not None and link["mtu"] != mtu:
        net.rt.change(ifinfo(index=msg.index), link_attrs(mtu=mtu))
        link["mtu"] = mtu
    return link


def _flag_changes(msg: LinkMsg, args: Args) -> tuple[int, int]:
    flags = change = 0
    for key, bit in (("up", IFF_UP), ("promisc", IFF_PROMISC)):
        want = args.opt_flag(key)
        if want is not None and bool(msg.flags & bit) != want:
            change |= bit
            flags |= bit if want else 0
    return flags, change


def _master_change(ctx: Context, net: Net, msg: LinkMsg, args: Args) -> int | None:
    if not args.present("master"):
        return None
    master = args.raw("master")
    if master is not None and not isinstance(master, str):
        raise Invalid(f"{args.op}: argument 'master' must be an interface name or ''")
    want = master_index(ctx, net, args.ifname("master")) if master else 0
    return want if (msg.master or 0) != want else None


def link_set(ctx: Context, args: Args) -> Any:
    ifname = args.ifname()
    net = ctx.net(args.ref())
    msg = require(net, ifname)
    if args.has("owner"):
        check_owned(msg, claim=args.claim())
    elif any(args.has(k) for k in ("mtu", "mac", "alias")):
        raise Invalid(f"{args.op}: mtu, mac and alias change only links with an owner")
    flags, change = _flag_changes(msg, args)
    mtu, mac, alias = opt_mtu(args), opt_mac(args), args.opt_text("alias")
    attrs = link_attrs(
        mtu=mtu if mtu is not None and msg.mtu != mtu else None,
        mac=mac if mac is not None and msg.mac != mac else None,
        alias=alias if alias is not None and msg.alias != alias else None,
        master=_master_change(ctx, net, msg, args),
    )
    if not attrs and not change:
        return read_msg(net, msg)
    # One request: the kernel applies master before flags, so a port joins
    # its bridge before it comes up.
    net.rt.change(ifinfo(index=msg.index, flags=flags, change=change), attrs)
    return read(net, ifname)
