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
    FieldPolicy,
    create_and_update,
    delete_quietly,
    note_made,
    read_or_none,
    verified,
)
from hostnet.validate import Checker, Failure

KIND = "route"
POLICY = FieldPolicy(
    replace=frozenset({"host", "netns", "dst", "table", "metric"}),
    update=frozenset({"via", "dev", "src", "onlink"}),
)
RTPROT_HOSTNET = 77
_MAIN = 254


def canonical_dst(value: object, *, family: int | None = None) -> str:
    """``default`` or a network in canonical form; a bare address is a /32 (or /128).

    ``default`` is IPv4's; for IPv6 it is ``::/0``, so ``family=6`` (a gateway or
    source of that family) turns ``default`` into that.
    """
    if value in ("default", "0.0.0.0/0"):
        return "::/0" if family == 6 and value == "default" else "default"
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


def _address(c: Checker, key: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not c.known(key):
        return None
    try:
        address = ipaddress.ip_address(c.news[key])
    except ValueError:
        c.fail(key, f"{c.news[key]!r} is not an IP address")
        return None
    c.out[key] = str(address)
    return address


def check_route_fields(c: Checker) -> None:
    """dst, via, dev, src of one route; shared with the routes of a NetnsRouter."""
    via, src = _address(c, "via"), _address(c, "src")
    hint = via or src
    if c.known("dst"):
        try:
            c.out["dst"] = canonical_dst(c.news["dst"], family=hint.version if hint else None)
        except ValueError as exc:
            c.fail("dst", str(exc))
    elif c.news.get("dst") is None:
        c.fail("dst", "is required (a network, or default)")
    dst = c.out.get("dst")
    family = None
    if isinstance(dst, str) and not c.unknown("dst"):
        family = 4 if dst == "default" else ipaddress.ip_network(dst).version
    for key, address in (("via", via), ("src", src)):
        if address is not None and family is not None and address.version != family:
            c.fail(
                key,
                f"{address} is IPv{address.version} but dst {dst} is IPv{family}; "
                "a route's addresses are of one family",
            )
    if c.news.get("dev") is not None:
        c.ifname("dev", required=False)
    if via is not None and via.version == 6 and via.is_link_local and c.news.get("dev") is None:
        c.fail("via", f"{via} is link-local; give dev, the interface it is reached on")
    if c.news.get("via") is None and c.news.get("dev") is None:
        c.fail("via", "a route needs via, dev, or both")


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    c.netns()
    check_route_fields(c)
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


def _connected(route: Mapping[str, Any]) -> bool:
    """A route to a network reached directly: IPv4 marks it scope link; IPv6
    connected routes (the /64 of an address) are scope global without a gateway."""
    if route.get("scope") == "link":
        return True
    return route.get("family") == 6 and not route.get("via") and route.get("type") == "unicast"


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
        if r.get("dst") not in (None, "default") and _connected(r)
    ]
    direct = [net for net in direct if net.version == gateway.version]
    if not any(gateway in net for net in direct):
        where = f"namespace {inputs['netns']}" if inputs.get("netns") else "the host namespace"
        nets = ", ".join(sorted({str(n) for n in direct})) or "none"
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
