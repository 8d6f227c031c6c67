"""hostnet graph without hosts: the graph built from dumps shaped as the agent's,
each resource's status, and the three renderings."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

from hostnet.graph.build import build
from hostnet.graph.declared import marks
from hostnet.graph.gather import status_of
from hostnet.graph.model import Graph, HostView, Status
from hostnet.graph.render import render
from hostnet.graph.rules import parse
from hostnet.graph.stack import declared

HOST = {"name": "h1", "address": "10.0.0.1", "key_file": "/k", "known_hosts": "/kh"}
HOST2 = {**HOST, "name": "h2", "address": "10.0.0.2"}


def _link(ifname: str, index: int, **extra: Any) -> dict[str, Any]:
    return {"ifname": ifname, "ifindex": index, "kind": None, "up": True, "master": None,
            "alias": None, "addresses": [], "peer_ifindex": None, **extra}  # fmt: skip


def _route(dst: str, via: str | None, dev: str, proto: int = 77) -> dict[str, Any]:
    return {"dst": dst, "via": via, "dev": dev, "table": 254, "metric": 0, "proto": proto,
            "type": "unicast", "family": 4}  # fmt: skip


VXLAN = {"id": 42, "local": None, "group": None, "port": 4789, "dev": "eth0"}
H1 = {
    None: {
        "links": [
            _link("lo", 1),
            _link("eth0", 2, addresses=["10.0.0.1/24"]),
            _link(
                "br0", 3, kind="bridge", alias="hostnet:h1/bridge/br0", addresses=["192.168.1.1/24"]
            ),
            _link("v0", 4, kind="veth", master="br0", alias="hostnet:h1/veth/v0", peer_ifindex=2),
            _link("docker0", 5, kind="bridge", addresses=["172.17.0.1/16"]),
            _link("vx42", 6, kind="vxlan", vxlan={**VXLAN, "remote": "10.0.0.2"}),
        ],
        "routes": [
            _route("192.168.2.0/24", "10.0.0.2", "eth0"),
            _route("default", "10.0.0.254", "eth0", proto=3),
            _route("10.0.0.0/24", None, "eth0", proto=2),
        ],
        "rules": {
            "filter": [":FORWARD DROP", "-A FORWARD -j DOCKER-USER"],
            "nat": [
                "-A POSTROUTING -j HOSTNET-POSTROUTING",
                "-A HOSTNET-POSTROUTING -s 192.168.1.0/24 -o eth0 -m comment --comment "
                '"hostnet:seed/lab/masq#0123456789ab prio=1" -j MASQUERADE',
            ],
        },
        "sysctl": {"net.ipv4.ip_forward": "1"},
    },
    "c1": {
        "links": [
            _link("lo", 1),
            _link(
                "eth0",
                2,
                kind="veth",
                alias="hostnet:h1/veth/v0",
                peer_ifindex=4,
                addresses=["192.168.1.2/24"],
            ),
        ],
        "routes": [_route("default", "192.168.1.1", "eth0")],
        "rules": {},
        "sysctl": {},
    },
}
H2 = {
    None: {
        "links": [
            _link("eth0", 2, addresses=["10.0.0.2/24"]),
            _link("vx42", 3, kind="vxlan", vxlan={**VXLAN, "remote": "10.0.0.1"}),
        ],
        "routes": [],
        "rules": {},
    }
}


def _resource(rtype: str, logical: str, rid: str, **outputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:lab::seed::pulumi-python:dynamic/hostnet:{rtype}::{logical}",
        "type": f"pulumi-python:dynamic/hostnet:{rtype}",
        "id": rid,
        "outputs": {"host": HOST, "resource_id": rid, "__provider": "x", **outputs},
    }


EXPORT = {
    "deployment": {
        "resources": [
            {
                "urn": "urn:pulumi:lab::seed::pulumi:pulumi:Stack::seed-lab",
                "type": "pulumi:pulumi:Stack",
            },
            _resource(
                "Bridge", "br", "h1/bridge/br0", name="br0", addresses=["192.168.1.1/24"], up=True
            ),
            _resource("Veth", "v", "h1/veth/v0", name="v0", peer_name="eth0", peer_netns="c1"),
            _resource(
                "Route", "out", "h1/route/192.168.2.0/24", dst="192.168.2.0/24", via="10.0.0.2"
            ),
            _resource(
                "Route", "gone", "h1/route/192.168.3.0/24", dst="192.168.3.0/24", via="10.0.0.2"
            ),
            _resource(
                "Route",
                "c1-default",
                "h1/route/ns:c1/default",
                dst="default",
                via="192.168.1.1",
                netns="c1",
            ),
            _resource(
                "RoutingRule",
                "c1-from",
                "h1/rule/ns:c1/1006",
                netns="c1",
                priority=1006,
                src="192.168.1.2/32",
                action="table",
                table=106,
            ),
            _resource(
                "NatRule",
                "masq",
                "h1/nat/masq",
                kind="masquerade",
                source="192.168.1.0/24",
                out_interface="eth0",
                owner={"stack": "seed/lab", "resource": "masq", "token": "0123456789ab"},
            ),
            _resource(
                "Sysctl",
                "fwd",
                "h1/sysctl/net.ipv4.ip_forward",
                key="net.ipv4.ip_forward",
                value="1",
            ),
        ]
    }
}


def _graph(states: dict[str, str] | None = None) -> Graph:
    resources = declared(EXPORT)
    states = {"h1/route/192.168.3.0/24": "missing", **(states or {})}
    statuses = {
        r.rid: Status(rid=r.rid, name=r.name, state=states.get(r.rid, "ok")) for r in resources
    }
    views = [
        HostView(name="h1", address="10.0.0.1", namespaces=H1),
        HostView(name="h2", address="10.0.0.2", namespaces=H2),
    ]
    return build(title="stack lab", views=views, resources=resources, statuses=statuses)


def test_declared_reads_hostnet_resources_of_an_export() -> None:
    found = declared(EXPORT)
    kinds = ["bridge", "veth", "route", "route", "route", "routing_rule", "nat_rule", "sysctl"]
    assert [r.kind for r in found] == kinds
    assert found[0].rid == "h1/bridge/br0" and found[0].name == "br" and found[0].host == "h1"
    assert "__provider" not in found[0].outputs


def test_interfaces_pairs_cables_and_routes() -> None:
    graph = _graph()
    nodes = {n.key: n for n in graph.nodes}
    edges = {e.key: e for e in graph.edges}
    assert nodes["link:h1::br0"].owner == "hostnet"
    assert nodes["link:h1::docker0"].classes == "foreign"
    assert "link:h1::lo" not in nodes
    veth = edges["veth:link:h1::v0"]
    assert (veth.tail, veth.head, veth.owner) == ("link:h1::v0", "link:h1:c1:eth0", "hostnet")
    assert edges["port:link:h1::v0"].head == "link:h1::br0"
    # NICs of both hosts on their network; a route to the other host's address.
    assert nodes["link:h1::eth0"].kind == "nic" and nodes["link:h2::eth0"].kind == "nic"
    assert {"cable:link:h1::eth0:10.0.0.0/24", "cable:link:h2::eth0:10.0.0.0/24"} <= set(edges)
    out = edges["route:h1::192.168.2.0/24:254:0"]
    assert (out.tail, out.head, out.label) == ("link:h1::eth0", "link:h2::eth0", "192.168.2.0/24")
    assert edges["route:h1:c1:default:254:0"].head == "link:h1::br0"
    # A gateway nobody draws is an address of its own, on its network; connected
    # routes are not edges.
    gateway = edges["route:h1::default:254:0"]
    assert gateway.head == "addr:10.0.0.254" and gateway.owner == "foreign"
    assert "cable:addr:10.0.0.254:10.0.0.0/24" in edges
    assert not [e for e in edges.values() if e.label.startswith("10.0.0.0/24")]


def test_vxlan_links_join_across_hosts_once() -> None:
    graph = _graph()
    tunnels = [e for e in graph.edges if e.kind == "vxlan"]
    assert [(e.tail, e.head, e.label) for e in tunnels] == [
        ("link:h1::vx42", "link:h2::vx42", "VXLAN 42")
    ]
    vx = next(n for n in graph.nodes if n.key == "link:h2::vx42")
    assert vx.kind == "vxlan" and "VNI 42 to 10.0.0.1" in vx.lines


def test_rules_are_badges_where_they_match() -> None:
    nodes = {n.key: n for n in _graph().nodes}
    nic = nodes["link:h1::eth0"]
    (masq,) = nic.badges
    assert masq.text == "POSTROUTING MASQUERADE from 192.168.1.0/24 out eth0"
    assert masq.owner == "hostnet" and [o.rid for o in masq.objects] == ["h1/nat/masq"]
    assert nic.classes == "foreign carries-hostnet"
    anchor = [b.text for b in nodes["anchor:h1:"].badges]
    assert anchor[:2] == ["FORWARD policy DROP", "FORWARD DOCKER-USER"]
    assert anchor[2] == "net.ipv4.ip_forward = 1"


def test_a_routing_rule_is_a_badge_of_its_namespace() -> None:
    nodes = {n.key: n for n in _graph().nodes}
    (rule,) = [b for b in nodes["anchor:h1:c1"].badges if b.text.startswith("rule ")]
    assert rule.text == "rule 1006: from 192.168.1.2/32 lookup 106"
    assert rule.owner == "hostnet" and [o.rid for o in rule.objects] == ["h1/rule/ns:c1/1006"]


def test_every_resource_is_drawn_and_drift_is_marked() -> None:
    graph = _graph({"h1/bridge/br0": "drift"})
    statuses = graph.statuses()
    assert set(statuses) == {r.rid for r in declared(EXPORT)}
    edges = {e.key: e for e in graph.edges}
    ghost = edges["route:h1::192.168.3.0/24:254:0"]
    assert ghost.missing and ghost.classes == "hostnet drift missing"
    bridge = next(n for n in graph.nodes if n.key == "link:h1::br0")
    assert bridge.classes == "hostnet drift"
    assert not next(n for n in graph.nodes if n.key == "link:h1:c1:eth0").drift


def test_status_compares_the_state_with_what_read_returns() -> None:
    (res,) = [r for r in declared(EXPORT) if r.kind == "bridge"]
    same = {**res.outputs, "ifindex": 9, "mac": "aa"}
    assert status_of(res, same).state == "ok"
    changed = status_of(res, {**same, "addresses": ["192.168.9.1/24"], "up": False})
    assert (changed.state, changed.fields) == ("drift", ("addresses", "up"))
    assert "differs from the stack in addresses, up" in changed.text
    assert status_of(res, None).state == "missing"


def test_a_rule_is_its_resources_by_the_token_or_by_the_id_before_tokens() -> None:
    (nat,) = [r for r in declared(EXPORT) if r.kind == "nat_rule"]
    assert marks("hostnet:seed/lab/masq#0123456789ab", nat)
    assert not marks("hostnet:seed/lab/masq#ba9876543210", nat)
    assert not marks("hostnet:h1/nat/masq", nat) and not marks(None, nat)
    legacy = dataclasses.replace(
        nat, outputs={k: v for k, v in nat.outputs.items() if k != "owner"}
    )
    assert marks("hostnet:h1/nat/masq", legacy)


def test_rule_lines_parse_with_negation_and_quoted_comments() -> None:
    rule = parse(
        "filter",
        "-A HOSTNET-FORWARD ! -i bridge0 -o bridge0 -m conntrack --ctstate RELATED,ESTABLISHED "
        '-m comment --comment "hostnet:h1/firewall/x prio=11" -j ACCEPT',
    )
    assert rule is not None
    assert rule.iface("-i") is None and rule.iface("-i", negated=True) == "bridge0"
    assert rule.comment == "hostnet:h1/firewall/x prio=11"
    assert rule.text == "FORWARD ACCEPT in !bridge0 out bridge0 RELATED,ESTABLISHED"
    assert parse("filter", ":FORWARD ACCEPT") is None


def test_renderings_carry_ids_classes_and_tooltips() -> None:
    graph = _graph({"h1/bridge/br0": "drift"})
    svg = ET.fromstring(render(graph, "svg"))
    groups = {g.get("id"): g for g in svg.iter("{http://www.w3.org/2000/svg}g")}
    assert groups["link:h1::docker0"].get("class") == "node foreign"
    assert groups["link:h1::br0"].get("class") == "node hostnet drift"
    titles = [a.get("{http://www.w3.org/1999/xlink}title") for a in groups["link:h1::br0"].iter()]
    assert any(t and "h1/bridge/br0 (br): differs" in t for t in titles)
    dot = render(graph, "dot").decode()
    assert dot.startswith("digraph hostnet {") and 'id="link:h1::docker0"' in dot
    mermaid = render(graph, "mermaid").decode().splitlines()
    assert mermaid[3] == "flowchart LR"
    assert any(line.strip().startswith("subgraph") and "netns c1" in line for line in mermaid)
    assert render(graph, "png").startswith(b"\x89PNG")
