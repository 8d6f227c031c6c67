"""Interfaces and what joins them: bridge ports, veth pairs, VXLAN tunnels and
the networks each host's NICs are cabled to."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from hostnet.graph.model import (
    FOREIGN,
    Cluster,
    Draft,
    Edge,
    LinkAt,
    Node,
    cluster_key,
    in_order,
    link_key,
    owner_of,
)

_SYSCTL_SHORT = {"net.ipv4.ip_forward": "ip_forward", "net.ipv4.conf.all.rp_filter": "rp_filter"}


def _label(first: str, dump: Mapping[str, Any]) -> str:
    values = dump.get("sysctl") or {}
    line = "  ".join(f"{short}={values[k]}" for k, short in _SYSCTL_SHORT.items() if k in values)
    return f"{first}\n{line}" if line else first


def _lo_mark(dump: Mapping[str, Any]) -> str | None:
    return next((lk.get("alias") for lk in dump.get("links", []) if lk["ifname"] == "lo"), None)


def _link_lines(link: Mapping[str, Any]) -> tuple[str, ...]:
    lines = list(link.get("addresses") or [])
    vxlan = link.get("vxlan")
    if vxlan:
        lines.append(f"VNI {vxlan.get('id')} to {vxlan.get('remote') or vxlan.get('group')}")
    if not link.get("up"):
        lines.append("DOWN")
    return tuple(lines)


def add_host(
    draft: Draft,
    *,
    host: str,
    address: str,
    namespaces: Mapping[str | None, Mapping[str, Any]],
    error: str | None,
) -> None:
    """The host's cluster, a cluster per namespace, a node per interface but lo."""
    top = cluster_key(host, None)
    draft.clusters[top] = Cluster(
        key=top, label=_label(f"{host}  {address}", namespaces.get(None) or {}), kind="host"
    )
    if error is not None:
        anchor = draft.anchor(host, None)
        draft.nodes[anchor.key] = dataclasses.replace(anchor, title="not read", lines=(error,))
        return
    for ns, dump in in_order(namespaces):
        if ns is not None:
            key = cluster_key(host, ns)
            draft.clusters[key] = Cluster(
                key=key,
                label=_label(f"netns {ns}", dump),
                kind="netns",
                parent=top,
                owner=owner_of(_lo_mark(dump)),
            )
        links = [lk for lk in dump.get("links", []) if lk["ifname"] != "lo"]
        for link in links:
            key = link_key(host, ns, link["ifname"])
            draft.links[key] = LinkAt(host=host, ns=ns, link=link)
            draft.add_node(
                Node(
                    key=key,
                    title=link["ifname"],
                    kind=link.get("kind") or "link",
                    cluster=cluster_key(host, ns),
                    lines=_link_lines(link),
                    owner=owner_of(link.get("alias")),
                )
            )
        for link in links:
            tail, head = (
                link_key(host, ns, link["ifname"]),
                link_key(host, ns, link["master"] or ""),
            )
            if link.get("master") and head in draft.nodes:
                owner = draft.nodes[tail].owner
                draft.add_edge(
                    Edge(key=f"port:{tail}", tail=tail, head=head, kind="port", owner=owner)
                )


def pair(draft: Draft, a: str, b: str) -> None:
    """Join two ends of a veth pair (both must be drawn), the host's end first."""
    if a in draft.peers or b in draft.peers or a not in draft.links or b not in draft.links:
        return
    draft.peers[a], draft.peers[b] = b, a
    tail, head = (a, b) if draft.links[a].ns is None else (b, a)
    owners = {draft.nodes[a].owner, draft.nodes[b].owner}
    owner = owners.pop() if len(owners) == 1 else FOREIGN
    draft.add_edge(Edge(key=f"veth:{tail}", tail=tail, head=head, kind="veth", owner=owner))


def pair_by_index(draft: Draft) -> None:
    """Veth ends no resource names: the peer on the same host whose ifindex and
    peer index cross with this one's; left alone when more than one could be it."""
    ends = [(k, at) for k, at in draft.links.items() if at.get("kind") == "veth"]
    for key, at in ends:
        if key in draft.peers:
            continue
        matches = [
            other
            for other, o in ends
            if other != key
            and other not in draft.peers
            and o.host == at.host
            and o.get("ifindex") == at.get("peer_ifindex")
            and o.get("peer_ifindex") == at.get("ifindex")
        ]
        if len(matches) == 1:
            pair(draft, key, matches[0])


def networks(addresses: Iterable[str]) -> list[str]:
    nets = []
    for text in addresses:
        iface = ipaddress.ip_interface(text)
        if iface.network.prefixlen < iface.max_prefixlen:
            nets.append(str(iface.network))
    return nets


def _behind_bridge(draft: Draft, bridge: LinkAt) -> list[str]:
    """Networks a bridge carries: its own addresses', else those of its ports' far ends."""
    own = networks(bridge.get("addresses") or [])
    if own:
        return own
    found: list[str] = []
    for key, at in draft.links.items():
        if (at.host, at.ns, at.get("master")) == (bridge.host, bridge.ns, bridge.get("ifname")):
            far = draft.links.get(draft.peers.get(key, ""))
            for net in networks(far.get("addresses") or []) if far else []:
                if net not in found:
                    found.append(net)
    return found


def _is_nic(draft: Draft, key: str, at: LinkAt) -> bool:
    kind = at.get("kind")
    return at.ns is None and (kind in (None, "") or (kind == "veth" and key not in draft.peers))


def cable_nics(draft: Draft) -> None:
    """A host-namespace interface that is neither virtual nor paired is a NIC:
    drawn cabled to the networks it (or the bridge it is a port of) carries."""
    for key, at in list(draft.links.items()):
        if not _is_nic(draft, key, at):
            continue
        draft.nodes[key] = dataclasses.replace(draft.nodes[key], kind="nic")
        nets = networks(at.get("addresses") or [])
        bridge = draft.links.get(link_key(at.host, None, at.get("master") or ""))
        if not nets and bridge is not None:
            nets = _behind_bridge(draft, bridge)
        for net in nets:
            net_key = f"net:{net}"
            draft.add_node(Node(key=net_key, title=net, kind="network"))
            draft.add_edge(Edge(key=f"cable:{key}:{net}", tail=key, head=net_key, kind="cable"))


def address_index(draft: Draft) -> dict[str, list[str]]:
    """Address (no prefix) -> the link nodes that carry it."""
    found: dict[str, list[str]] = {}
    for key, at in draft.links.items():
        for text in at.get("addresses") or []:
            found.setdefault(str(ipaddress.ip_interface(text).ip), []).append(key)
    return found


def tunnel_vxlans(draft: Draft, peers: Mapping[str, list[str]] | None = None) -> None:
    """A VXLAN link to a remote address (its own, or the FDB peers ``peers`` gives
    by link key): an edge to the VXLAN of the same VNI on the host that carries
    that address (or to the address's interface)."""
    where = address_index(draft)
    for key, at in draft.links.items():
        vxlan = at.get("vxlan")
        if not vxlan:
            continue
        remotes = [vxlan["remote"]] if vxlan.get("remote") else []
        for remote in remotes + list((peers or {}).get(key, [])):
            _tunnel(draft, where, key, at, str(remote))


def _tunnel(
    draft: Draft, where: Mapping[str, list[str]], key: str, at: LinkAt, remote: str
) -> None:
    vxlan = at.get("vxlan")
    holders = [k for k in where.get(remote, []) if draft.links[k].host != at.host]
    if not holders:
        return
    far = draft.links[holders[0]].host
    twins = [
        k
        for k, o in draft.links.items()
        if o.host == far and (o.get("vxlan") or {}).get("id") == vxlan.get("id")
    ]
    tail, head = sorted((key, twins[0] if twins else holders[0]))
    draft.add_edge(
        Edge(
            key=f"vxlan:{tail}:{head}",
            tail=tail,
            head=head,
            kind="vxlan",
            label=f"VXLAN {vxlan.get('id')}",
            owner=draft.nodes[key].owner,
        )
    )
