"""A router made of a network namespace: one veth leg per network, forwarding on.

Each leg's host end joins a bridge of the network it faces; its inside end must
carry an address in that network. Without one the router cannot answer ARP or
send from that leg, which is why routers built without them never forward.
The namespace, its legs and its routes all carry hostnet's mark.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping
from typing import Any

from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import FieldPolicy, Kind, Plan, Spec, Step, register
from hostnet.resources._readback import read_or_none
from hostnet.resources.route import RTPROT_HOSTNET, check_route_fields
from hostnet.unknown import is_unknown
from hostnet.validate import (
    Checker,
    Failure,
    Interface,
    management_address_taken,
    parse_interface,
    records,
    same_address,
)

NAME = "netns_router"
WHAT = "router namespace"
# Its name before kinds were named after their modules: the state of older
# stacks carries it.
ALIASES = ("router",)
POLICY = FieldPolicy(
    replace=frozenset({"host", "name"}), update=frozenset({"interfaces", "routes", "forwarding"})
)
FORWARDING = "net.ipv4.ip_forward"


def _check_leg(item: Mapping[str, Any], *, index: int, host: Mapping[str, Any]) -> Checker:
    sub = Checker(item, inputs=("name", "inside_name", "bridge", "address"))
    name = sub.ifname("name")
    sub.ifname("inside_name")
    sub.ifname("bridge", required=False)
    if item.get("address") in (None, ""):
        sub.fail(
            "address",
            f"interface {name or index} has no address: a router interface must have an "
            "address in the network it faces",
        )
    elif sub.known("address"):
        parsed = parse_interface(item["address"], field="address", checker=sub)
        if parsed is not None:
            sub.out["address"] = str(parsed)
            if same_address([parsed], host.get("address")):
                sub.fail("address", management_address_taken(host, parsed))
    return sub


def _check_interfaces(c: Checker) -> tuple[list[Interface], bool]:
    """The legs; (their networks, whether every address is known)."""
    legs = c.news.get("interfaces")
    if is_unknown(legs) and not isinstance(legs, list):
        c.out["interfaces"] = legs  # a list Pulumi does not know yet: checked at up
        return [], False
    if not isinstance(legs, list) or not legs:
        c.fail("interfaces", "a router needs at least one interface")
        return [], True
    found = c.out.get("host")
    host: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    networks: list[Interface] = []
    seen: set[str] = set()
    out: list[Any] = []
    what = "RouterInterface (name, inside_name, address)"
    for i, item in records(c, "interfaces", legs, out=out, what=what):
        sub = _check_leg(item, index=i, host=host)
        for field in ("name", "inside_name"):
            value = sub.out.get(field)
            if isinstance(value, str) and value in seen:
                sub.fail(field, f"{value!r} is used by two interfaces")
            if isinstance(value, str):
                seen.add(value)
        if isinstance(sub.out.get("address"), str):
            networks.append(ipaddress.ip_interface(sub.out["address"]))
        c.nested("interfaces", sub, index=i)
        out.append(sub.result()[0])
    c.out["interfaces"] = out
    return networks, not is_unknown(legs)


def _check_routes(c: Checker, networks: list[Interface], complete: bool) -> None:
    routes = c.news.get("routes")
    if routes is None or (is_unknown(routes) and not isinstance(routes, list)):
        c.known("routes")
        c.out.setdefault("routes", [])
        return
    legs = c.out.get("interfaces")
    inside = (
        {i.get("inside_name") for i in legs if isinstance(i, Mapping)}
        if isinstance(legs, list)
        else set()
    )
    out: list[Any] = []
    for i, route in records(c, "routes", routes, out=out, what="RouterRoute (dst, via, dev)"):
        sub = Checker(route, inputs=("dst", "via", "dev"))
        check_route_fields(sub)
        via = sub.out.get("via")
        if (
            isinstance(via, str)
            and complete
            and not any(ipaddress.ip_address(via) in n.network for n in networks)
        ):
            nets = ", ".join(str(n.network) for n in networks) or "none"
            sub.fail("via", f"{via} is not inside any network of the router's interfaces ({nets})")
        dev = sub.out.get("dev")
        if isinstance(dev, str) and complete and dev not in inside:
            sub.fail("dev", f"{dev!r} is not the inside_name of any interface")
        c.nested("routes", sub, index=i)
        out.append(sub.result()[0])
    c.out["routes"] = out


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    name = c.netns("name")
    if name is not None and (":" in name or name.startswith("/")):
        c.fail("name", f"{name!r}: a router namespace needs a plain name")
    if news.get("name") is None:
        c.fail("name", "is required")
    networks, complete = _check_interfaces(c)
    _check_routes(c, networks, complete)
    c.boolean("forwarding", default=True)
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(host=inputs["host"]["name"], kind=NAME, name=inputs["name"])


def _leg_steps(own: dict[str, Any], ns: str, leg: Mapping[str, Any], made: bool) -> list[Step]:
    undo = (Op(op="link_delete", args={"ifname": leg["name"], **own}),)
    inside = {"netns": ns, "ifname": leg["inside_name"]}
    veth = {"ifname": leg["name"], "peer_ifname": leg["inside_name"], "peer_netns": ns, **own}
    host_end = {"ifname": leg["name"], **own, "master": leg.get("bridge") or "", "up": True}
    return [
        Step(op=Op(op="link_ensure_veth", args=veth), undo=undo if made else ()),
        Step(op=Op(op="addr_replace", args={**inside, "addresses": [leg["address"]]})),
        Step(op=Op(op="link_set", args={**inside, **own, "up": True})),
        Step(op=Op(op="link_set", args=host_end)),
    ]


def _route_args(ns: str, route: Mapping[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    where = {"netns": ns, "dst": route["dst"], **own}
    return {**where, "via": route.get("via"), "dev": route.get("dev")}


def observe(agent: Agent, spec: Spec) -> dict[str, Any]:
    """Whether the namespace is there, and the names of the host's links."""
    return {
        "netns": agent.call("netns_read", name=spec["name"]),
        "host_links": sorted(link["ifname"] for link in agent.call("link_list")),
    }


def _leg_changes(spec: Spec, observed: Mapping[str, Any], olds: Spec) -> list[Step]:
    own = claim(spec, rid=spec["resource_id"])
    host_links = set(observed["host_links"])
    wanted = {leg["name"]: leg["inside_name"] for leg in spec["interfaces"]}
    steps = []
    for leg in olds.get("interfaces") or []:
        # A leg whose inside end is renamed is another veth pair: made again.
        if wanted.get(leg["name"]) != leg["inside_name"]:
            steps.append(Step(op=Op(op="link_delete", args={"ifname": leg["name"], **own})))
            host_links.discard(leg["name"])
    for leg in spec["interfaces"]:
        steps += _leg_steps(own, spec["name"], leg, made=leg["name"] not in host_links)
    return steps


def plan(spec: Spec, observed: Mapping[str, Any], olds: Spec) -> Plan:
    ns, own = spec["name"], claim(spec, rid=spec["resource_id"])
    forwarding = {
        "netns": ns,
        "key": FORWARDING,
        "value": "1" if spec.get("forwarding", True) else "0",
        **own,
        "record": False,
    }
    fresh = observed["netns"] is None
    steps = [
        Step(
            op=Op(op="netns_ensure", args={"name": ns, **own}),
            undo=(Op(op="netns_delete", args={"name": ns, **own}),) if fresh else (),
        ),
        Step(op=Op(op="sysctl_write", args=forwarding)),
        *_leg_changes(spec, observed, olds),
    ]
    wanted_dst = {r["dst"] for r in spec.get("routes", [])}
    for route in olds.get("routes") or []:
        if route["dst"] not in wanted_dst:
            delete = {"netns": ns, "dst": route["dst"], **own}
            steps.append(Step(op=Op(op="route_delete", args=delete)))
    steps += [
        Step(op=Op(op="route_ensure", args=_route_args(ns, r, own))) for r in spec.get("routes", [])
    ]
    return Plan(steps=tuple(steps))


def _observed_legs(agent: Agent, outputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    ns = outputs["name"]
    host = {link["ifname"]: link for link in agent.call("link_list")}
    inside = {link["ifname"]: link for link in agent.call("link_list", netns=ns)}
    legs = []
    for leg in outputs.get("interfaces") or []:
        outer, inner = host.get(leg["name"]), inside.get(leg["inside_name"])
        if outer is None or inner is None:
            continue  # a vanished leg shows as a missing list entry
        seen = {"name": leg["name"], "inside_name": leg["inside_name"]}
        if outer.get("master"):
            seen["bridge"] = outer["master"]
        addresses = inner.get("addresses") or []
        seen["address"] = (
            leg.get("address") if leg.get("address") in addresses else (addresses or [None])[0]
        )
        legs.append({k: v for k, v in seen.items() if v is not None})
    return legs


def _route_view(route: Mapping[str, Any], declared: Mapping[str, Any]) -> dict[str, Any]:
    """A route as declared: dev only when the declaration names one."""
    view = {"dst": route["dst"]}
    if route.get("via"):
        view["via"] = route["via"]
    if declared.get("dev") or not route.get("via"):
        view["dev"] = route.get("dev")
    return view


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    ns = outputs["name"]
    found = agent.call("netns_read", name=ns)
    if found is None or not is_mine(found.get("owner"), outputs, rid=rid):
        return None
    routes = read_or_none(agent, "route_list", netns=ns) or []
    ours = [r for r in routes if r.get("proto") == RTPROT_HOSTNET]
    declared = {r["dst"]: r for r in outputs.get("routes") or []}
    seen_routes = [_route_view(route, declared.get(route["dst"], {})) for route in ours]
    order = list(declared)
    seen_routes.sort(key=lambda r: order.index(r["dst"]) if r["dst"] in order else len(order))
    forwarding = read_or_none(agent, "sysctl_read", netns=ns, key=FORWARDING)
    return {
        **outputs,
        "resource_id": rid,
        "interfaces": _observed_legs(agent, outputs),
        "routes": seen_routes,
        "forwarding": forwarding == "1",
    }


def retire(spec: Spec) -> list[Op]:
    ns, own = spec["name"], claim(spec, rid=spec["resource_id"])
    # The routes go by route_delete, which also drops the record the agent keeps
    # of each; the namespace's end would take the routes but leave the records.
    routes = [
        Op(op="route_delete", args={"netns": ns, "dst": route["dst"], **own})
        for route in spec.get("routes") or []
    ]
    # The legs go before the namespace: those left to its teardown outlive this
    # call, since the kernel finishes that teardown in the background.
    legs = [
        Op(op="link_delete", args={"ifname": leg["name"], **own})
        for leg in spec.get("interfaces") or []
    ]
    return [*routes, *legs, Op(op="netns_delete", args={"name": ns, **own})]


KIND = register(Kind.of(sys.modules[__name__]))
