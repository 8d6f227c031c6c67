"""A Graph as Mermaid flowchart text (for Markdown pages that render Mermaid)."""

from __future__ import annotations

from hostnet.graph.model import Graph, Node

ARROW = {"route": "-.->", "veth": "<==>", "vxlan": "-.-", "cable": "===", "port": "---"}
CLASSES = (
    "classDef hostnet fill:#dbeafe,stroke:#1d4ed8",
    "classDef foreign fill:#f3f4f6,stroke:#6b7280,color:#374151",
    "classDef drift stroke:#dc2626,stroke-width:3px",
    "classDef missing stroke:#dc2626,stroke-dasharray:5 5,fill:#ffffff",
)


def _text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _label(node: Node) -> str:
    flag = " \u26a0 missing" if node.missing else (" \u26a0 drift" if node.drift else "")
    lines = [f"<b>{_text(node.title)}</b>{flag}", *(_text(x) for x in node.lines)]
    for badge in node.badges:
        prefix = "\u26a0 " if badge.drift else ("" if badge.owner == "hostnet" else "foreign: ")
        lines.append(f"<i>{_text(prefix + badge.text)}</i>")
    return "<br/>".join(lines)


def _node(node: Node, name: str, indent: str) -> str:
    # Networks and outside addresses are stadiums, everything else a box.
    opening, closing = ('(["', '"])') if node.kind in ("network", "external") else ('["', '"]')
    return f"{indent}{name}{opening}{_label(node)}{closing}"


def to_mermaid(graph: Graph) -> str:
    names = {n.key: f"n{i}" for i, n in enumerate(graph.nodes)}
    cluster_names = {c.key: f"c{i}" for i, c in enumerate(graph.clusters)}
    lines = ["---", f"title: {graph.title}", "---", "flowchart LR"]

    def fill(parent: str | None, indent: str) -> None:
        for cluster in (c for c in graph.clusters if c.parent == parent):
            label = _text(cluster.label.replace("\n", "  "))
            flag = " \u26a0 drift" if cluster.drift else ""
            lines.append(f'{indent}subgraph {cluster_names[cluster.key]}["{label}{flag}"]')
            for node in (n for n in graph.nodes if n.cluster == cluster.key):
                lines.append(_node(node, names[node.key], indent + "  "))
            fill(cluster.key, indent + "  ")
            lines.append(f"{indent}end")

    fill(None, "  ")
    lines += [_node(n, names[n.key], "  ") for n in graph.nodes if n.cluster is None]
    for edge in graph.edges:
        arrow = ARROW[edge.kind]
        label = f'|"{_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {names[edge.tail]} {arrow}{label} {names[edge.head]}")
    lines += [f"  {c}" for c in CLASSES]
    for node in graph.nodes:
        words = node.classes.split()
        lines.append(f"  class {names[node.key]} {','.join(dict.fromkeys(words))}")
    for cluster in graph.clusters:
        words = cluster.classes.split()
        lines.append(f"  class {cluster_names[cluster.key]} {','.join(dict.fromkeys(words))}")
    return "\n".join(lines) + "\n"
