"""From what was read (hosts' dumps, each resource's status) to the Graph."""

from __future__ import annotations

from collections.abc import Mapping

from hostnet.graph.declared import attach_all, pair_declared, vxlan_peers
from hostnet.graph.links import add_host, address_index, cable_nics, pair_by_index, tunnel_vxlans
from hostnet.graph.model import Draft, Graph, HostView, Status
from hostnet.graph.routes import add_routes
from hostnet.graph.rules import add_rules
from hostnet.graph.stack import Declared


def build(
    *,
    title: str,
    views: list[HostView],
    resources: list[Declared],
    statuses: Mapping[str, Status],
) -> Graph:
    """Pure: the same inputs always give the same graph (tests build it from dumps)."""
    draft = Draft(title)
    for view in views:
        add_host(
            draft,
            host=view.name,
            address=view.address,
            namespaces=view.namespaces,
            error=view.error,
        )
    pair_declared(draft, resources)
    pair_by_index(draft)
    cable_nics(draft)
    tunnel_vxlans(draft, vxlan_peers(resources))
    where = address_index(draft)
    for view in views:
        add_routes(draft, view, where)
        add_rules(draft, view)
    attach_all(draft, resources, statuses, where)
    return draft.freeze()
