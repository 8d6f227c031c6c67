"""A route on a host or in a namespace: destination or default, via, dev, src, metric, table.

Routes hostnet makes carry protocol 77; a route to the same destination made by
the kernel, by hand or by another daemon is never replaced or deleted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import (
    Failure,
    FieldPolicy,
    create_and_update,
    delete_quietly,
    note_made,
    read_or_none,
    verified,
)
from hostnet.validate import Checker

KIND = "route"
POLICY = FieldPolicy(
    replace=frozenset({"host", "netns", "dst", "table", "metric"}),
    update=frozenset({"via", "dev", "src", "onlink"}),
)
RTPROT_HOSTNET = 77
_MAIN = 254


def canonical_dst(value: object) -> str:
    """``default`` or a network in canonical form; a bare address is a /32 (or /128)."""
    if value in ("default", "0.0.0.0/0"):
        return "default"
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a destination")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(value, strict=False)
            raise ValueError(f"{value} has host bits set; the network is {loose}") from None
        raise ValueError(f"{value!r} is not an address or network") from None
    return str(network)


def check_route_fields(c: Checker, news: Mapping[str, Any], *, prefix: str = "") -> None:
    """dst, via, dev, src of one route; shared with the routes of a NetnsRouter."""
    dst = news.get("dst")
    try:
        c.out[f"{prefix}dst"] = canonical_dst(dst)
    except ValueError as exc:
        c.fail(f"{prefix}dst", str(exc))
    for key in ("via", "src"):
        if news.get(key) is None:
            continue
        try:
            c.out[f"{prefix}{key}"] = str(ipaddress.ip_address(news[key]))
        except ValueError:
            c.fail(f"{prefix}{key}", f"{news[key]!r} is not an IP address")
    if news.get("dev") is not None:
        c.ifname(f"{prefix}dev", required=False)
    if news.get("via") is None and news.get("dev") is None:
        c.fail(f"{prefix}via", "a route needs via, dev, or both")


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news)
    c.host()
    c.netns()
    check_route_fields(c, news)
    c.integer("metric", low=0, high=2**32 - 1)
    c.integer("table", low=1, high=2**32 - 1)
    c.boolean("onlink", default=False)
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    name = inputs["dst"]
    if inputs.get("table") not in (None, _MAIN):
        name = f"table{inputs['table']}/{name}"
    if inputs.get("metric") is not None:
        name = f"{name}/metric{inputs['metric']}"
    return make_id(host=inputs["host"]["name"], kind=KIND, name=name, netns=inputs.get("netns"))


def _args(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "netns": inputs.get("netns"),
        "dst": inputs["dst"],
        "via": inputs.get("via"),
        "dev": inputs.get("dev"),
        "src": inputs.get("src"),
        "metric": inputs.get("metric"),
        "table": inputs.get("table"),
        "onlink": inputs.get("onlink") or None,
    }


def _key(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: inputs.get(k) for k in ("netns", "dst", "metric", "table")}


def _check_gateway(agent: Agent, inputs: Mapping[str, Any]) -> None:
    """The gateway must lie in a network the namespace reaches directly; said
    before anything changes, in words, instead of the kernel's ENETUNREACH."""
    via = inputs.get("via")
    if via is None or inputs.get("onlink"):
        return
    gateway = ipaddress.ip_address(via)
    used = agent.call("route_get", netns=inputs.get("netns"), dst=via)
    if used is not None and used.get("via") is None and used.get("type") == "unicast":
        return  # reached directly: one lookup, whatever the size of the table
    routes = agent.call("route_list", netns=inputs.get("netns"))
    direct = [
        ipaddress.ip_network(r["dst"])
        for r in routes
        if r.get("scope") == "link" and r.get("dst") not in (None, "default")
    ]
    if not any(gateway in net for net in direct if net.version == gateway.version):
        where = f"namespace {inputs['netns']}" if inputs.get("netns") else "the host namespace"
        nets = ", ".join(sorted(str(n) for n in direct)) or "none"
        raise errors.InvalidInput(
            "via", f"{via} is not inside any network connected in {where} ({nets})"
        )


def _apply(
    agent: Agent, rid: str, inputs: Mapping[str, Any], _olds: Mapping[str, Any]
) -> dict[str, Any]:
    _check_gateway(agent, inputs)
    route = agent.call("route_ensure", **_args(inputs), **claim(inputs, rid=rid))
    if route.get("created"):
        note_made()
    observed = read(agent, {**inputs, "resource_id": rid})
    return verified(observed, rid=rid, inputs=inputs, fields=("via", "dev", "src"), what="route")


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    route = read_or_none(agent, "route_read", **_key(outputs))
    if route is None or not is_mine(route.get("owner"), outputs, rid=rid):
        return None
    observed = dict(outputs)
    observed["resource_id"] = rid
    for key in ("via", "dev", "src"):
        # Fields left unset are the kernel's choice (dev from the gateway, src).
        if outputs.get(key) is not None or (key == "via" and route.get("via")):
            observed[key] = route.get(key)
    return observed


def delete(agent: Agent, outputs: Mapping[str, Any]) -> None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    own = claim(outputs, rid=rid)
    delete_quietly(agent, [Op(op="route_delete", args={**_key(outputs), **own})], rid=rid)


create, update = create_and_update(make_id_for=make_id_for, apply=_apply, delete=delete)
