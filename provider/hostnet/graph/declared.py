"""The stack's resources on the drawing: each is attached to the element(s) it
made, with its status; one the host no longer shows is drawn as missing, where
the stack says it should be."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hostnet import ownership
from hostnet.graph.links import pair
from hostnet.graph.model import (
    HOSTNET,
    MARK,
    Badge,
    Cluster,
    Draft,
    Edge,
    Node,
    Status,
    cluster_key,
    link_key,
)
from hostnet.graph.routes import gateway, route_key, route_label, tail_of
from hostnet.graph.stack import Declared

Where = Mapping[str, list[str]]


def _cluster(draft: Draft, host: str, ns: str | None) -> str:
    key = cluster_key(host, ns)
    if key not in draft.clusters:
        draft.clusters[key] = Cluster(
            key=key, label=f"netns {ns}", kind="netns", parent=cluster_key(host, None), missing=True
        )
    return key


def _link(draft: Draft, host: str, ns: str | None, ifname: str, kind: str) -> str:
    """The link's node; a ghost in its namespace when the host does not show it."""
    key = link_key(host, ns, ifname)
    if key not in draft.nodes:
        draft.add_node(
            Node(key=key, title=ifname, kind=kind, cluster=_cluster(draft, host, ns), missing=True)
        )
    return key


def _pair(draft: Draft, a: str, b: str) -> None:
    pair(draft, a, b)
    if draft.peers.get(a) != b:  # an end is missing: draw the pair as the stack has it
        draft.add_edge(
            Edge(key=f"veth:{a}", tail=a, head=b, kind="veth", owner=HOSTNET, missing=True)
        )


def _veth_edge(draft: Draft, end: str) -> str:
    return next(k for k in (f"veth:{end}", f"veth:{draft.peers.get(end, '')}") if k in draft.edges)


def _bridge(draft: Draft, res: Declared, status: Status, _where: Where) -> None:
    out = res.outputs
    draft.attach(_link(draft, res.host, out.get("netns"), out["name"], "bridge"), status)


def _vxlan(draft: Draft, res: Declared, status: Status, _where: Where) -> None:
    out = res.outputs
    draft.attach(_link(draft, res.host, out.get("netns"), out["name"], "vxlan"), status)


def vxlan_peers(resources: list[Declared]) -> dict[str, list[str]]:
    """The FDB peers of each Vxlan the stack declares, by link key: the dump shows
    the device, not its FDB, so the tunnels are drawn to the peers declared."""
    return {
        link_key(r.host, r.outputs.get("netns"), r.outputs["name"]): list(
            r.outputs.get("remotes") or []
        )
        for r in resources
        if r.kind == "vxlan"
    }


def _veth(draft: Draft, res: Declared, status: Status, _where: Where) -> None:
    out = res.outputs
    a = _link(draft, res.host, None, out["name"], "veth")
    b = _link(draft, res.host, out.get("peer_netns"), out["peer_name"], "veth")
    _pair(draft, a, b)
    for key in (a, b, _veth_edge(draft, a)):
        draft.attach(key, status)


def _router(draft: Draft, res: Declared, status: Status, _where: Where) -> None:
    out = res.outputs
    ns = out["name"]
    draft.attach(_cluster(draft, res.host, ns), status)
    for leg in out.get("interfaces") or []:
        a = _link(draft, res.host, None, leg["name"], "veth")
        b = _link(draft, res.host, ns, leg["inside_name"], "veth")
        _pair(draft, a, b)
        for key in (a, b, _veth_edge(draft, a)):
            draft.attach(key, status)
    prefix = route_key(host=res.host, ns=ns, dst="default", table=None, metric=None).split(
        "default"
    )[0]
    for key, edge in list(draft.edges.items()):
        if key.startswith(prefix) and edge.owner == HOSTNET:
            draft.attach(key, status)


def _netns(draft: Draft, res: Declared, status: Status, _where: Where) -> None:
    key = _cluster(draft, res.host, res.outputs["name"])
    draft.anchor(res.host, res.outputs["name"])  # an empty cluster is not drawn
    draft.attach(key, status)


def _route(draft: Draft, res: Declared, status: Status, where: Where) -> None:
    out = res.outputs
    ns, dst, table, metric = out.get("netns"), out["dst"], out.get("table"), out.get("metric")
    key = route_key(host=res.host, ns=ns, dst=dst, table=table, metric=metric)
    if key not in draft.edges:
        tail = tail_of(draft, host=res.host, ns=ns, dev=out.get("dev"))
        found = _badge_at(draft, lambda b: b.mark == key)
        if found is not None:
            draft.attach_badge(found[0], found[1], status)
            return
        label = route_label(dst=dst, table=table, metric=metric)
        if out.get("via"):
            head = gateway(draft, where, host=res.host, via=str(out["via"]))
            draft.add_edge(
                Edge(key=key, tail=tail, head=head, kind="route", label=label, missing=True)
            )
        else:
            draft.badge(tail, Badge(text=f"route {label}", kind="route", mark=key, missing=True))
            draft.attach_badge(tail, len(draft.nodes[tail].badges) - 1, status)
            return
    draft.attach(key, status)


def _badge_at(draft: Draft, predicate: Callable[[Badge], bool]) -> tuple[str, int] | None:
    for key, node in draft.nodes.items():
        for i, badge in enumerate(node.badges):
            if predicate(badge):
                return key, i
    return None


def marks(mark: str | None, res: Declared) -> bool:
    """Whether a mark read on the host is this resource's: ``hostnet:...#<token>``
    for the token in its state, or its id for state from before instance ownership."""
    token = ownership.token_of(res.outputs)
    if token is None:
        return mark == MARK + res.rid
    return bool(mark) and str(mark).startswith(MARK) and str(mark).rsplit("#", 1)[-1] == token


def _rule(draft: Draft, res: Declared, status: Status, _where: Where) -> None:
    found = _badge_at(draft, lambda b: marks(b.mark, res))
    if found is None:
        out = res.outputs
        ns = out.get("netns")
        names = [out.get("out_interface"), out.get("in_interface")]
        places = [link_key(res.host, ns, n.lstrip("!")) for n in names if n]
        place = next((k for k in places if k in draft.nodes), draft.anchor(res.host, ns).key)
        kind = "nat" if res.kind == "nat_rule" else "filter"
        text = f"{res.name} ({out.get('kind') or out.get('action') or 'rule'})"
        draft.badge(place, Badge(text=text, kind=kind, missing=True))
        found = place, len(draft.nodes[place].badges) - 1
    draft.attach_badge(found[0], found[1], status)


def _namespace_badge(draft: Draft, res: Declared, status: Status, *, text: str, kind: str) -> None:
    """A badge on the namespace (or host) the resource lives in."""
    anchor = draft.anchor(res.host, res.outputs.get("netns")).key
    draft.badge(anchor, Badge(text=text, kind=kind, owner=HOSTNET))
    draft.attach_badge(anchor, len(draft.nodes[anchor].badges) - 1, status)


def _sysctl(draft: Draft, res: Declared, status: Status, _where: Where) -> None:
    out = res.outputs
    _namespace_badge(draft, res, status, text=f"{out['key']} = {out['value']}", kind="sysctl")


def _routing_rule(draft: Draft, res: Declared, status: Status, _where: Where) -> None:
    """``ip rule`` as it prints: ``1006: from 192.168.6.2 lookup 106``."""
    out = res.outputs
    words = [f"rule {out['priority']}: from {out.get('src') or 'all'}"]
    selectors = (
        ("dst", "to"),
        ("iif", "iif"),
        ("oif", "oif"),
        ("fwmark", "fwmark"),
        ("tos", "tos"),
    )
    words += [f"{word} {out[key]}" for key, word in selectors if out.get(key)]
    action = out.get("action") or "table"
    words.append(f"lookup {out.get('table')}" if action == "table" else action)
    _namespace_badge(draft, res, status, text=" ".join(words), kind="route")


ATTACH: dict[str, Callable[[Draft, Declared, Status, Where], None]] = {
    "bridge": _bridge,
    "veth": _veth,
    "netns_router": _router,
    "netns": _netns,
    "route": _route,
    "routing_rule": _routing_rule,
    "nat_rule": _rule,
    "firewall_rule": _rule,
    "sysctl": _sysctl,
    "vxlan": _vxlan,
}


def pair_declared(draft: Draft, resources: list[Declared]) -> None:
    """Veth ends the stack names, joined before anything is judged a NIC."""
    for res in resources:
        out = res.outputs
        if res.kind == "veth":
            ends = [((None, out["name"]), (out.get("peer_netns"), out["peer_name"]))]
        elif res.kind == "netns_router":
            legs = out.get("interfaces") or []
            ends = [((None, leg["name"]), (out["name"], leg["inside_name"])) for leg in legs]
        else:
            continue
        for (ns_a, a), (ns_b, b) in ends:
            pair(draft, link_key(res.host, ns_a, a), link_key(res.host, ns_b, b))


def attach_all(
    draft: Draft, resources: list[Declared], statuses: Mapping[str, Status], where: Where
) -> None:
    """Veths and routers first: their pairs decide which interfaces are NICs."""
    order = {"veth": 0, "netns_router": 0, "netns": 1, "bridge": 1}
    for res in sorted(resources, key=lambda r: order.get(r.kind, 2)):
        status = statuses.get(res.rid) or Status(
            rid=res.rid, name=res.name, state="unknown", fields=("not read",)
        )
        ATTACH[res.kind](draft, res, status, where)
