"""link_ensure_veth: a veth pair whose peer is created directly in its namespace.

The kernel creates both ends or neither, and refuses (EEXIST) when either
name is taken; so the pair is created first and looked up only on EEXIST,
which keeps a fresh pair at four netlink requests (create, mark, mark and
bring up the peer, read the peer) for bulk use. A refusal changes nothing.
Both ends carry the owner's alias.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any

from .args import Args
from .context import Context, Net
from .errors import Exists, Invalid, NotOwned, from_exception
from .links import check_adoptable, link_attrs, linkinfo, master_index, opt_mtu
from .linkview import read_msg, view
from .nsref import Netns
from .owner import parse_mark
from .rtnl import IFF_UP, IFLA_NET_NS_FD, VETH_INFO_PEER, LinkMsg, ifinfo, nla, nla_u32


def link_ensure_veth(ctx: Context, args: Args) -> Any:
    ifname, peer_ifname = args.ifname(), args.ifname("peer_ifname")
    ns, peer_ns = ctx.netns(args.ref()), ctx.netns(args.ref("peer_netns"))
    if ns.path == peer_ns.path and ifname == peer_ifname:
        raise Invalid(f"{args.op}: both ends are {ifname} in one namespace")
    net, peer_net = ctx.net_at(ns), ctx.net_at(peer_ns)
    claim, up, mtu = args.claim(), args.flag("up", default=False), opt_mtu(args)
    master = args.opt_ifname("master")
    master_ix = master_index(ctx, net, master) if master is not None else None
    fd = None if ns.path == peer_ns.path else os.open(peer_ns.fd_path, os.O_RDONLY)
    try:
        peer_attrs = link_attrs(ifname=peer_ifname, mtu=mtu)
        if fd is not None:
            peer_attrs += nla_u32(IFLA_NET_NS_FD, fd)
        data = nla(VETH_INFO_PEER, ifinfo() + peer_attrs)
        header = ifinfo(flags=IFF_UP if up else 0, change=IFF_UP if up else 0)
        attrs = link_attrs(ifname=ifname, mtu=mtu, master=master_ix) + linkinfo("veth", data)
        msg = net.rt.create(header, attrs) or net.rt.get(ifname=ifname)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise from_exception(exc, what=f"create veth {ifname}") from exc
        return _existing(ctx, net, peer_net, args, peer_ns=peer_ns)
    finally:
        if fd is not None:
            os.close(fd)
    if msg is None or msg.link is None:
        raise Exists(f"{ifname} vanished right after being created")
    try:
        net.rt.change(ifinfo(index=msg.index), link_attrs(alias=claim.me.mark()))
        # The peer's flags and alias in a create request are ignored by the kernel.
        up_flags = ifinfo(index=msg.link, flags=IFF_UP if up else 0, change=IFF_UP if up else 0)
        peer_net.rt.change(up_flags, link_attrs(alias=claim.me.mark()))
        peer = peer_net.rt.get(index=msg.link)
        if peer is None:
            raise Exists(f"{peer_ifname} vanished right after being created")
    except Exception as exc:
        with contextlib.suppress(Exception):
            net.rt.delete(msg.index)
        raise from_exception(exc, what=f"mark veth {ifname}/{peer_ifname}") from exc
    # An echoed message predates the master and the alias, both set since.
    msg.alias, msg.master = claim.me.mark(), master_ix
    names = {master_ix: master} if master_ix is not None and master is not None else {}
    return {"link": view(msg, names=names, addrs=[]), "peer": view(peer, names={}, addrs=[])}


def _existing(ctx: Context, net: Net, peer_net: Net, args: Args, *, peer_ns: Netns) -> Any:
    """After EEXIST: adopt our own pair, refuse anything else."""
    ifname, peer_ifname, claim = args.ifname(), args.ifname("peer_ifname"), args.claim()
    msg = net.rt.get(ifname=ifname)
    peer = peer_net.rt.get(ifname=peer_ifname)
    if msg is None:
        if peer is None:
            raise Exists(f"creating {ifname}/{peer_ifname} collided with a link that is gone now")
        refuse = Exists if claim.mine(parse_mark(peer.alias)) else NotOwned
        raise refuse(f"{peer_ifname} already exists in {peer_ns.label}")
    check_adoptable(msg, claim=claim, kind="veth")
    if peer is None or msg.link != peer.index or peer.link != msg.index:
        raise Exists(f"veth {ifname} exists but its peer is not {peer_ifname} in {peer_ns.label}")
    return _reconcile(ctx, net, peer_net, args, msg=msg, peer=peer)


def _reconcile(
    ctx: Context, net: Net, peer_net: Net, args: Args, *, msg: LinkMsg, peer: LinkMsg
) -> Any:
    mark, mtu, up = args.claim().me.mark(), opt_mtu(args), args.opt_flag("up")
    master = args.opt_ifname("master")
    master_ix = master_index(ctx, net, master) if master is not None else None
    attrs = link_attrs(
        mtu=mtu if mtu is not None and msg.mtu != mtu else None,
        master=master_ix if master_ix is not None and msg.master != master_ix else None,
        alias=mark if msg.alias != mark else None,
    )
    peer_attrs = link_attrs(
        mtu=mtu if mtu is not None and peer.mtu != mtu else None,
        alias=mark if peer.alias != mark else None,
    )
    for side, link_net, extra in ((msg, net, attrs), (peer, peer_net, peer_attrs)):
        change = IFF_UP if up is not None and bool(side.flags & IFF_UP) != up else 0
        if extra or change:
            flags = IFF_UP if up else 0
            link_net.rt.change(ifinfo(index=side.index, flags=flags, change=change), extra)
    fresh = net.rt.get(index=msg.index) or msg
    fresh_peer = peer_net.rt.get(index=peer.index) or peer
    return {"link": read_msg(net, fresh), "peer": read_msg(peer_net, fresh_peer)}
