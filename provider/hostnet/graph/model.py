"""The graph of a stack's network as plain values, built from what was read.

Clusters are hosts and, inside them, network namespaces (containers, routers);
nodes are interfaces (with their addresses and the NAT and filter rules that
match them as badges), the networks NICs are cabled to, and addresses outside
every host (a gateway); edges are bridge ports, veth pairs, VXLAN tunnels,
cables and routes. Every element says whose it is (hostnet's mark on the host,
or foreign) and which of the stack's resources it stands for, with each one's
status: ok, drift (fields differ from the state), missing, or unknown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HOSTNET = "hostnet"
FOREIGN = "foreign"
MARK = "hostnet:"


@dataclass(frozen=True, kw_only=True)
class Status:
    """One stack resource as the host shows it."""

    rid: str
    name: str
    state: str  # ok | drift | missing | unknown
    fields: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        how = {
            "ok": "as in the stack",
            "drift": "differs from the stack in " + ", ".join(self.fields),
            "missing": "missing on the host",
            "unknown": "not read: " + "; ".join(self.fields),
        }[self.state]
        return f"{self.rid} ({self.name}): {how}"


@dataclass(frozen=True, kw_only=True)
class Element:
    """What nodes, edges, clusters and badges share: owner and stack objects."""

    owner: str = FOREIGN
    objects: tuple[Status, ...] = ()
    missing: bool = False  # declared by the stack, not found on the host

    @property
    def statuses(self) -> tuple[Status, ...]:
        """The stack resources this element shows (a node's badges' included)."""
        return self.objects

    @property
    def drift(self) -> bool:
        return self.missing or any(o.state != "ok" for o in self.statuses)

    @property
    def classes(self) -> str:
        words = [self.owner] + (["drift"] if self.drift else []) + (["missing"] * self.missing)
        return " ".join(words)


@dataclass(frozen=True, kw_only=True)
class Badge(Element):
    text: str
    kind: str  # nat | filter | route | sysctl | policy
    mark: str | None = None  # the rule's comment on the host


@dataclass(frozen=True, kw_only=True)
class Cluster(Element):
    key: str
    label: str
    kind: str  # host | netns
    parent: str | None = None


@dataclass(frozen=True, kw_only=True)
class Node(Element):
    key: str
    title: str
    kind: str  # bridge | veth | nic | vxlan | link | anchor | network | external
    cluster: str | None = None
    lines: tuple[str, ...] = ()
    badges: tuple[Badge, ...] = ()

    @property
    def statuses(self) -> tuple[Status, ...]:
        return self.objects + tuple(o for b in self.badges for o in b.objects)

    @property
    def drift(self) -> bool:
        return super().drift or any(b.drift for b in self.badges)

    @property
    def classes(self) -> str:
        """A node of another's (a NIC, a namespace) may carry hostnet's rules or settings."""
        carries = self.owner != HOSTNET and any(b.owner == HOSTNET for b in self.badges)
        return super().classes + (" carries-hostnet" if carries else "")


@dataclass(frozen=True, kw_only=True)
class Edge(Element):
    key: str
    tail: str
    head: str
    kind: str  # port | veth | vxlan | cable | route
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class Graph:
    title: str
    clusters: tuple[Cluster, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def elements(self) -> Iterable[Element]:
        yield from self.clusters
        for node in self.nodes:
            yield node
            yield from node.badges
        yield from self.edges

    def statuses(self) -> dict[str, Status]:
        return {o.rid: o for e in self.elements() for o in e.statuses}


def owner_of(mark: str | None) -> str:
    return HOSTNET if (mark or "").startswith(MARK) else FOREIGN


def cluster_key(host: str, ns: str | None) -> str:
    return f"host:{host}" if ns is None else f"ns:{host}:{ns}"


def link_key(host: str, ns: str | None, ifname: str) -> str:
    return f"link:{host}:{ns or ''}:{ifname}"


def anchor_key(host: str, ns: str | None) -> str:
    return f"anchor:{host}:{ns or ''}"


@dataclass(frozen=True, kw_only=True)
class HostView:
    """One host as read: namespace (None: the host's own) -> its dump."""

    name: str
    address: str
    namespaces: Mapping[str | None, Mapping[str, Any]] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class LinkAt:
    """A link as dumped, and where: host and namespace (None: the host's own)."""

    host: str
    ns: str | None
    link: Mapping[str, Any]

    def get(self, key: str) -> Any:
        return self.link.get(key)


class Draft:
    """The graph while it is built; frozen into a Graph at the end."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.clusters: dict[str, Cluster] = {}
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, Edge] = {}
        # What each link node was drawn from, for the passes that join hosts.
        self.links: dict[str, LinkAt] = {}
        self.peers: dict[str, str] = {}  # veth end -> the other end (both ways)

    def add_node(self, node: Node) -> Node:
        return self.nodes.setdefault(node.key, node)

    def add_edge(self, edge: Edge) -> Edge:
        return self.edges.setdefault(edge.key, edge)

    def anchor(self, host: str, ns: str | None) -> Node:
        """The namespace's own node: its settings and rules that match no interface."""
        title = "host namespace" if ns is None else f"netns {ns}"
        return self.add_node(
            Node(
                key=anchor_key(host, ns), title=title, kind="anchor", cluster=cluster_key(host, ns)
            )
        )

    def badge(self, key: str, badge: Badge) -> None:
        node = self.nodes[key]
        self.nodes[key] = dataclasses.replace(node, badges=(*node.badges, badge))

    def attach(self, key: str, status: Status) -> None:
        """Record that a stack resource is (part of) this element."""
        for table in (self.nodes, self.edges, self.clusters):
            if key in table:
                found: Any = table[key]
                table[key] = dataclasses.replace(
                    found, owner=HOSTNET, objects=(*found.objects, status)
                )
                return
        raise KeyError(key)

    def attach_badge(self, key: str, index: int, status: Status) -> None:
        node = self.nodes[key]
        badges = list(node.badges)
        found = badges[index]
        badges[index] = dataclasses.replace(found, owner=HOSTNET, objects=(*found.objects, status))
        self.nodes[key] = dataclasses.replace(node, badges=tuple(badges))

    def freeze(self) -> Graph:
        return Graph(
            title=self.title,
            clusters=tuple(self.clusters.values()),
            nodes=tuple(self.nodes.values()),
            edges=tuple(self.edges.values()),
        )


def in_order(
    namespaces: Mapping[str | None, Mapping[str, Any]],
) -> list[tuple[str | None, Mapping[str, Any]]]:
    """Namespaces in drawing order: the host's own first, then by name."""
    return sorted(namespaces.items(), key=lambda item: (item[0] is not None, item[0] or ""))
