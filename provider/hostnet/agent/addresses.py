"""Address ops. Addresses are canonical "address/prefix" strings of global or site scope."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
from collections.abc import Iterator
from typing import Any

from .args import Args
from .context import Context, Net
from .errors import Invalid, NotFound
from .linkview import address_map, addresses
from .rtnl import RTM_DELADDR, RTM_NEWADDR

PROMOTE_SECONDARIES = 20  # IPV4_DEVCONF_PROMOTE_SECONDARIES


def _index(net: Net, ifname: str) -> int:
    msg = net.rt.get(ifname=ifname)
    if msg is None:
        raise NotFound(f"{ifname} does not exist")
    return msg.index


def _change(net: Net, kind: int, index: int, cidr: str) -> None:
    iface = ipaddress.ip_interface(cidr)
    net.rt.addr_change(kind, index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)


def _add(net: Net, index: int, cidr: str) -> bool:
    try:
        _change(net, RTM_NEWADDR, index, cidr)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise
    return True


def _delete(net: Net, index: int, cidr: str) -> bool:
    try:
        _change(net, RTM_DELADDR, index, cidr)
    except OSError as exc:
        if exc.errno in (errno.EADDRNOTAVAIL, errno.ENOENT, errno.ENODEV):
            return False
        raise
    return True


def addr_ensure(ctx: Context, args: Args) -> Any:
    cidr = args.interface("address")
    net = ctx.net(args.ref())
    return {"changed": _add(net, _index(net, args.ifname()), cidr)}


def addr_delete(ctx: Context, args: Args) -> Any:
    cidr = args.interface("address")
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"changed": False}
    net = ctx.net_at(ns)
    msg = net.rt.get(ifname=args.ifname())
    if msg is None:
        return {"changed": False}
    return {"changed": _delete(net, msg.index, cidr)}


def addr_list(ctx: Context, args: Args) -> Any:
    net = ctx.net(args.ref())
    ifname = args.opt_ifname("ifname")
    if ifname is not None:
        return [{"ifname": ifname, "address": a} for a in addresses(net, _index(net, ifname))]
    names = {m.index: m.ifname for m in net.rt.dump()}
    return [
        {"ifname": names.get(index), "address": a}
        for index, found in sorted(address_map(net).items())
        for a in found
    ]


def addr_replace(ctx: Context, args: Args) -> Any:
    """Exactly ``addresses`` (plus any of ``keep``) on the link: add first, then remove.

    Removing a primary IPv4 address also removes the secondaries of its subnet
    unless promote_secondaries is set (see _promoting), so desired addresses
    lost that way anyhow are added back at the end.
    """
    if not isinstance(args.raw("addresses"), list):
        raise Invalid(f"{args.op}: argument 'addresses' must be a list (empty removes all)")
    want, keep = args.interfaces("addresses"), args.interfaces("keep")
    net = ctx.net(args.ref())
    index = _index(net, args.ifname())
    have = addresses(net, index)
    added = [a for a in want if a not in have and _add(net, index, a)]
    going = [a for a in have if a not in want and a not in keep]
    with _promoting(net, index, going=going, staying=[*want, *keep]):
        removed = [a for a in going if _delete(net, index, a)]
    if removed:
        now = addresses(net, index)
        added += [a for a in want if a not in now and _add(net, index, a) and a not in added]
    return {"added": added, "removed": removed}


@contextlib.contextmanager
def _promoting(net: Net, index: int, *, going: list[str], staying: list[str]) -> Iterator[None]:
    """promote_secondaries set on the link while IPv4 addresses whose subnet keeps
    another address are removed; the link's own value back afterwards.

    Without it the kernel removes the secondaries with their primary, and with
    the link's last address every route through the link: a container whose
    address moves within its subnet (.2/24 to .3/24) would lose its route via
    the gateway, and nothing would put it back.
    """
    kept = [k for k in map(ipaddress.ip_interface, staying) if k.version == 4]
    shared = any(
        any(k.ip in gone.network and k != gone for k in kept)
        for gone in map(ipaddress.ip_interface, going)
        if gone.version == 4
    )
    before = net.rt.inet_conf(index, PROMOTE_SECONDARIES) if shared else None
    if before == 0:
        net.rt.set_inet_conf(index, PROMOTE_SECONDARIES, 1)
    try:
        yield
    finally:
        if before == 0:
            net.rt.set_inet_conf(index, PROMOTE_SECONDARIES, 0)
