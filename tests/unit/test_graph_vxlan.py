"""hostnet graph and the Vxlan kind: a device whose peers are FDB entries (no
``remote`` in its link) is joined to its peers' devices by the peers the stack
declares, and carries its resource's status."""

from __future__ import annotations

from typing import Any

from hostnet.graph.build import build
from hostnet.graph.model import HostView, Status
from hostnet.graph.stack import declared

VXLAN = {"id": 42, "local": None, "remote": None, "group": None, "port": 4789, "dev": None}
ADDRESSES = {"h1": "10.0.0.1", "h2": "10.0.0.2", "h3": "10.0.0.3"}


def _dump(address: str) -> dict[str | None, Any]:
    links = [
        {"ifname": "eth0", "ifindex": 2, "kind": None, "up": True, "master": None, "alias": None,
         "addresses": [f"{address}/24"], "peer_ifindex": None},
        {"ifname": "vx-overlay", "ifindex": 3, "kind": "vxlan", "up": True, "master": None,
         "alias": None, "addresses": [], "peer_ifindex": None,
         "vxlan": {**VXLAN, "local": address}},
    ]  # fmt: skip
    return {None: {"links": links, "routes": [], "rules": {}}}


def _vxlan(host: str, remotes: list[str]) -> dict[str, Any]:
    rid = f"{host}/vxlan/vx-overlay"
    return {
        "urn": f"urn:pulumi:lab::overlay::pulumi-python:dynamic/hostnet:Vxlan::{host}-vx",
        "type": "pulumi-python:dynamic/hostnet:Vxlan",
        "id": rid,
        "outputs": {
            "host": {"name": host, "address": ADDRESSES[host]},
            "resource_id": rid,
            "name": "vx-overlay",
            "vni": 42,
            "remotes": remotes,
        },
    }


def test_declared_peers_draw_one_tunnel_per_pair_and_attach_the_resource() -> None:
    export = {
        "deployment": {
            "resources": [
                _vxlan("h1", ["10.0.0.2", "10.0.0.3"]),
                _vxlan("h2", ["10.0.0.1", "10.0.0.3"]),
                _vxlan("h3", ["10.0.0.1"]),  # h2 left out of h3's peers, not of h2's
            ]
        }
    }
    resources = declared(export)
    assert [r.kind for r in resources] == ["vxlan"] * 3
    statuses = {r.rid: Status(rid=r.rid, name=r.name, state="ok") for r in resources}
    views = [HostView(name=h, address=a, namespaces=_dump(a)) for h, a in ADDRESSES.items()]
    graph = build(title="overlay", views=views, resources=resources, statuses=statuses)
    tunnels = sorted((e.tail, e.head) for e in graph.edges if e.kind == "vxlan")
    key = "link:{}::vx-overlay".format
    assert tunnels == [(key("h1"), key("h2")), (key("h1"), key("h3")), (key("h2"), key("h3"))]
    nodes = {n.key: n for n in graph.nodes}
    assert all(nodes[key(h)].owner == "hostnet" for h in ADDRESSES)
    assert [s.rid for s in nodes[key("h1")].objects] == ["h1/vxlan/vx-overlay"]
