"""Drawing a Graph with Graphviz (DOT source, SVG, PNG) through the ``graphviz``
package, which writes DOT and runs Debian's ``dot``.

Every drawn element carries an ``id`` (its key), a ``class`` (hostnet or
foreign, plus drift and missing) and a tooltip that lists the stack resources
it stands for with their status, so the SVG can be read by programs as well as
by people.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import graphviz

from hostnet.graph.mermaid import to_mermaid
from hostnet.graph.model import HOSTNET, Badge, Cluster, Edge, Element, Graph, Node

FORMATS = ("svg", "png", "dot", "mermaid")
FONT = "DejaVu Sans"
RED = "#dc2626"
FILL = {HOSTNET: "#dbeafe", "foreign": "#f3f4f6"}
STROKE = {HOSTNET: "#1d4ed8", "foreign": "#6b7280"}
BADGE_FILL = {"nat": "#fde68a", "route": "#d1fae5", "sysctl": "#e0e7ff", "policy": "#fecaca"}
SHAPE = {"network": "ellipse", "external": "ellipse", "anchor": "note"}
EDGE_STYLE = {
    "port": {"arrowhead": "none", "color": "#6b7280"},
    "veth": {"dir": "both", "arrowhead": "dot", "arrowtail": "dot", "penwidth": "2"},
    "vxlan": {"style": "bold,dashed", "color": "#7c3aed", "dir": "none", "penwidth": "2"},
    "cable": {"arrowhead": "none", "color": "#92400e", "penwidth": "2.5"},
    "route": {"color": "#059669", "fontcolor": "#065f46", "fontsize": "9", "style": "dashed"},
}
LEGEND = (
    ("made by hostnet, as in the stack", HOSTNET, ""),
    ("foreign: not hostnet's", "foreign", ""),
    ("differs from the stack (drift)", HOSTNET, "drift"),
    ("in the stack, missing on the host", HOSTNET, "missing"),
)


def tooltip(element: Element) -> str:
    if not element.statuses:
        return (
            "hostnet's mark, in no resource of this stack"
            if element.owner == HOSTNET
            else ("foreign: no hostnet mark")
        )
    return "\n".join(o.text for o in element.statuses)


def _badge_fill(badge: Badge) -> str:
    if badge.owner != HOSTNET:
        return "#e5e7eb"
    if badge.kind == "filter":
        return "#fecaca" if any(w in badge.text for w in ("DROP", "REJECT")) else "#bbf7d0"
    return BADGE_FILL.get(badge.kind, "#e5e7eb")


def _row(
    text: str, *, size: int = 10, bold: bool = False, color: str = "black", fill: str = ""
) -> str:
    body = html.escape(text)
    body = f"<B>{body}</B>" if bold else body
    bg = f' BGCOLOR="{fill}"' if fill else ""
    font = f'<FONT POINT-SIZE="{size}" COLOR="{color}">{body}</FONT>'
    return f'<TR><TD ALIGN="LEFT"{bg}>{font}</TD></TR>'


def node_label(node: Node) -> str:
    flag = "  \u26a0 missing" if node.missing else ("  \u26a0 drift" if node.drift else "")
    kind = "" if node.kind in ("network", "external", "anchor") else f"  ({node.kind})"
    rows = [_row(node.title + kind + flag, bold=True, color=RED if node.drift else "black")]
    rows += [_row(line, size=9) for line in node.lines]
    for badge in node.badges:
        mark = "\u26a0 " if badge.drift else ("" if badge.owner == HOSTNET else "foreign: ")
        rows.append(
            _row(
                mark + badge.text,
                size=8,
                color=RED if badge.drift else "black",
                fill=_badge_fill(badge),
            )
        )
    return (
        '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="1">'
        + "".join(rows)
        + "</TABLE>>"
    )


def _look(element: Element) -> dict[str, str]:
    owner = element.owner if element.owner == HOSTNET else "foreign"
    attrs = {"class": element.classes, "tooltip": tooltip(element), "color": STROKE[owner]}
    if element.drift:
        attrs.update(color=RED, penwidth="3")
    return attrs


def _node_attrs(node: Node) -> dict[str, str]:
    attrs = {
        "id": node.key,
        "label": node_label(node),
        "shape": SHAPE.get(node.kind, "box"),
        **_look(node),
    }
    style = ["filled"] + (["rounded"] if attrs["shape"] == "box" else [])
    style += ["dashed"] if node.missing else []
    fill = "#ffffff" if node.missing else FILL[node.owner if node.owner == HOSTNET else "foreign"]
    fill = "#fef3c7" if node.kind == "network" else fill
    return {**attrs, "style": ",".join(style), "fillcolor": fill}


def _edge_attrs(edge: Edge) -> dict[str, str]:
    attrs = {"id": edge.key, **EDGE_STYLE[edge.kind], **_look(edge)}
    if edge.kind not in ("route", "vxlan") and edge.owner != HOSTNET and not edge.drift:
        attrs["color"] = "#9ca3af"
    if edge.kind == "route" and edge.owner != HOSTNET and not edge.drift:
        attrs.update(color="#9ca3af", fontcolor="#6b7280")
    if edge.missing:
        attrs["style"] = "dashed"
    if edge.label:
        attrs["label"] = edge.label + (" \u26a0" if edge.drift else "")
    return attrs


def _cluster_attrs(cluster: Cluster) -> dict[str, str]:
    look = _look(cluster)
    look.pop("tooltip")
    fill = (
        "#f9fafb"
        if cluster.kind == "host"
        else ("#ecfeff" if cluster.owner == HOSTNET else "#f5f5f4")
    )
    flag = "  \u26a0 drift" if cluster.drift else ""
    return {
        "id": cluster.key,
        "label": cluster.label + flag,
        "style": "rounded,filled" + (",dashed" if cluster.missing else ""),
        "fillcolor": fill,
        "fontcolor": RED if cluster.drift else "black",
        "tooltip": tooltip(cluster),
        **{k: v for k, v in look.items() if k in ("class", "color", "penwidth")},
    }


def _fill(dot: graphviz.Digraph, graph: Graph, names: dict[str, str], parent: str | None) -> None:
    for cluster in (c for c in graph.clusters if c.parent == parent):
        with dot.subgraph(name=f"cluster_{names[cluster.key]}") as sub:
            sub.attr(**_cluster_attrs(cluster))
            for node in (n for n in graph.nodes if n.cluster == cluster.key):
                sub.node(names[node.key], **_node_attrs(node))
            _fill(sub, graph, names, cluster.key)


def _legend(dot: graphviz.Digraph) -> None:
    with dot.subgraph(name="cluster_legend") as sub:
        sub.attr(label="legend", style="rounded", color="#9ca3af", id="legend")
        for i, (text, owner, state) in enumerate(LEGEND):
            attrs = {
                "shape": "box",
                "style": "rounded,filled",
                "fillcolor": FILL[owner],
                "color": STROKE[owner],
                "fontsize": "9",
                "label": text,
                "id": f"legend:{i}",
            }
            if state:
                attrs.update(color=RED, penwidth="3")
            if state == "missing":
                attrs.update(style="rounded,filled,dashed", fillcolor="#ffffff")
            sub.node(f"legend{i}", **attrs)


def to_dot(graph: Graph) -> graphviz.Digraph:
    names = {key: f"n{i}" for i, key in enumerate(_keys(graph))}
    dot = graphviz.Digraph(
        name="hostnet",
        graph_attr={
            "rankdir": "LR",
            "compound": "true",
            "fontname": FONT,
            "label": graph.title,
            "labelloc": "t",
            "fontsize": "16",
            "nodesep": "0.25",
            "ranksep": "0.6",
        },
        node_attr={"fontname": FONT, "fontsize": "10"},
        edge_attr={"fontname": FONT},
    )
    _fill(dot, graph, names, None)
    for node in (n for n in graph.nodes if n.cluster is None):
        dot.node(names[node.key], **_node_attrs(node))
    for edge in graph.edges:
        dot.edge(names[edge.tail], names[edge.head], **_edge_attrs(edge))
    _legend(dot)
    return dot


def _keys(graph: Graph) -> Iterable[str]:
    yield from (c.key for c in graph.clusters)
    yield from (n.key for n in graph.nodes)


def render(graph: Graph, fmt: str) -> bytes:
    """The picture in one of FORMATS; SVG and PNG need Graphviz's ``dot``."""
    if fmt == "mermaid":
        return to_mermaid(graph).encode()
    dot = to_dot(graph)
    if fmt == "dot":
        source: str = dot.source
        return source.encode()
    try:
        data = bytes(dot.pipe(format=fmt))
    except graphviz.ExecutableNotFound:
        raise SystemExit(
            "hostnet graph: Graphviz's `dot` is not installed "
            "(make setup installs Debian's graphviz)"
        ) from None
    return data
