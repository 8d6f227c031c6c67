"""Routes as edges: from the interface a route leaves by to whatever carries its
gateway address, on this host or another, labelled with the destination."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from hostnet.graph.model import (
    FOREIGN,
    HOSTNET,
    Badge,
    Draft,
    Edge,
    HostView,
    Node,
    in_order,
    link_key,
)

RTPROT_HOSTNET = 77
MAIN = 254


def normal_dst(dst: str) -> str:
    return dst if dst == "default" else str(ipaddress.ip_network(dst, strict=False))


def route_key(*, host: str, ns: str | None, dst: str, table: int | None, metric: int | None) -> str:
    return f"route:{host}:{ns or ''}:{normal_dst(dst)}:{table or MAIN}:{metric or 0}"


def route_label(*, dst: str, table: int | None, metric: int | None) -> str:
    extra = [f"table {table}"] if table not in (None, MAIN) else []
    extra += [f"metric {metric}"] if metric else []
    return " ".join([dst, *extra])


def gateway(draft: Draft, where: Mapping[str, list[str]], *, host: str, via: str) -> str:
    """The node that carries ``via``: on this host if any, else the one elsewhere;
    an address nobody draws gets a node of its own, cabled to its network."""
    holders = where.get(via, [])
    local = [k for k in holders if draft.links[k].host == host]
    if local or len(holders) == 1:
        return (local or holders)[0]
    key = f"addr:{via}"
    if key not in draft.nodes:
        draft.add_node(Node(key=key, title=via, kind="external"))
        address = ipaddress.ip_address(via)
        for net_key, node in list(draft.nodes.items()):
            if node.kind == "network" and address in ipaddress.ip_network(node.title):
                draft.add_edge(
                    Edge(key=f"cable:{key}:{node.title}", tail=key, head=net_key, kind="cable")
                )
    return key


def tail_of(draft: Draft, *, host: str, ns: str | None, dev: str | None) -> str:
    key = link_key(host, ns, dev or "")
    return key if dev and key in draft.nodes else draft.anchor(host, ns).key


def _add(
    draft: Draft,
    where: Mapping[str, list[str]],
    host: str,
    ns: str | None,
    route: Mapping[str, Any],
) -> None:
    owner = HOSTNET if route.get("proto") == RTPROT_HOSTNET else FOREIGN
    label = route_label(dst=route["dst"], table=route.get("table"), metric=route.get("metric"))
    tail = tail_of(draft, host=host, ns=ns, dev=route.get("dev"))
    key = route_key(
        host=host, ns=ns, dst=route["dst"], table=route.get("table"), metric=route.get("metric")
    )
    if route.get("via"):
        head = gateway(draft, where, host=host, via=str(route["via"]))
        draft.add_edge(Edge(key=key, tail=tail, head=head, kind="route", label=label, owner=owner))
    elif owner == HOSTNET:
        # A route out of an interface with no gateway stays inside the picture's node.
        draft.badge(tail, Badge(text=f"route {label}", kind="route", owner=owner, mark=key))


def add_routes(draft: Draft, view: HostView, where: Mapping[str, list[str]]) -> None:
    """Every unicast route with a gateway, and hostnet's routes without one.
    Connected routes (the kernel's, one per address) say nothing the addresses don't."""
    for ns, dump in in_order(view.namespaces):
        for route in dump.get("routes", []):
            if route.get("type", "unicast") == "unicast" and route.get("table") != 255:
                _add(draft, where, view.name, ns, route)
