"""What the fake's ops share: namespace references, the LINK view, errno errors.

Namespace references follow hostnet.agent.nsref: null is the agent's own, NAME a
named one, ``pid:N``, ``container:NAME`` and absolute paths are looked up as keys
of the model (tests add them with Host.add_container / add_netns).
"""

from __future__ import annotations

import os
import re
from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import Failed, Invalid, NotFound, NotOwned
from hostnet.agent.nsref import check_name
from hostnet.agent.owner import Claim, owner_view, parse_mark

from .model import OWN, Host, Link, Netns

_CONTAINER = re.compile(r"^[A-Za-z0-9_.@+-]{1,200}$")


def ns_key(ref: str | None) -> str:
    """The model key a reference names; Invalid as nsref.resolve refuses it."""
    if ref is None or ref == "":
        return OWN
    if ref.startswith("pid:"):
        if not ref[4:].isdigit():
            raise Invalid(f"bad namespace reference {ref!r}: pid must be a number")
        return ref
    if ref.startswith("container:"):
        name = ref[len("container:") :]
        if not _CONTAINER.match(name) or name.startswith("-"):
            raise Invalid(f"bad container name in {ref!r}")
        return ref
    if ref.startswith("/"):
        return ref
    return check_name(ref)


def find_ns(host: Host, args: Args, key: str = "netns") -> Netns | None:
    """The namespace ``args[key]`` names, None when it does not exist."""
    return host.netns.get(ns_key(args.ref(key)))


def require_ns(host: Host, args: Args, key: str = "netns") -> Netns:
    ref = args.ref(key)
    found = host.netns.get(ns_key(ref))
    if found is None:
        if ref is not None and ref.startswith("container:"):
            raise NotFound(f"container {ref[len('container:') :]!r} does not exist")
        raise NotFound(f"network namespace {ref!r} does not exist")
    return found


def kernel_error(code: int, op: str, said: str | None = None) -> Failed:
    """What the agent makes of a refusal by the kernel (errors.from_exception): the
    op, then the kernel's own words (extended ack) or the errno's."""
    return Failed(f"{op}: {said or os.strerror(code)}", errno=code)


def require_link(ns: Netns, ifname: str) -> Link:
    link = ns.link(ifname)
    if link is None:
        raise NotFound(f"{ifname} does not exist")
    return link


def check_owned(link: Link, claim: Claim) -> None:
    if not claim.mine(parse_mark(link.alias)):
        raise NotOwned(f"{link.ifname} belongs to {claim.kept(link.alias)}, not to this resource")


def claimed_link(
    host: Host, args: Args, ifname: str, claim: Claim
) -> tuple[Netns, Link] | dict[str, Any]:
    """The link a delete-like op acts on; else its answer: gone, or kept as whose."""
    ns = find_ns(host, args)
    link = ns.link(ifname) if ns is not None else None
    if ns is None or link is None:
        return {"deleted": False}
    if not claim.mine(parse_mark(link.alias)):
        return {"deleted": False, "kept": claim.kept(link.alias)}
    return ns, link


def link_view(host: Host, ns: Netns, link: Link) -> dict[str, Any]:
    """The LINK object of hostnet.agent.linkview.view."""
    view: dict[str, Any] = {
        "ifindex": link.ifindex,
        "ifname": link.ifname,
        "kind": link.kind,
        "mac": link.mac,
        "mtu": link.mtu,
        "up": link.up,
        "operstate": _operstate(host, link),
        "master": ns.name_of(link.master),
        "alias": link.alias,
        "owner": owner_view(link.alias),
        "promisc": link.promisc,
        "addresses": list(link.addresses),
        "peer_ifindex": link.peer[1] if link.peer else None,
    }
    if link.vxlan is not None:
        vxlan = dict(link.vxlan)
        vxlan["dev"] = ns.name_of(vxlan["dev"])
        view["vxlan"] = vxlan
    return view


def _operstate(host: Host, link: Link) -> str:
    if not link.up:
        return "DOWN"
    if link.kind == "veth":
        peer_ns = host.netns.get(link.peer[0]) if link.peer else None
        peer = peer_ns.links.get(link.peer[1]) if peer_ns and link.peer else None
        return "UP" if peer is not None and peer.up else "LOWERLAYERDOWN"
    return "UNKNOWN" if link.ifname == "lo" else "UP"  # lo has no carrier to report
