"""A route on a host or in a namespace: destination or default, via, dev, src, metric, table.

Routes hostnet makes carry protocol 77; a route to the same destination made by
the kernel, by hand or by another daemon is never replaced or deleted.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping
from typing import Any

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import FieldPolicy, Kind, Plan, Spec, Step, register
from hostnet.resources._readback import asked_together, read_call, read_or_none
from hostnet.validate import Checker, Failure

NAME = "route"
WHAT = "route"
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
    return make_id(host=inputs["host"]["name"], kind=NAME, name=name, netns=inputs.get("netns"))


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


def _direct(used: Mapping[str, Any] | None) -> bool:
    """Whether the kernel's own lookup reaches the gateway without another gateway."""
    return used is not None and used.get("via") is None and used.get("type") == "unicast"


def observe(agent: Agent, spec: Spec) -> dict[str, Any]:
    """The route at the spec's key, and what tells whether its gateway is reachable:
    the kernel's lookup of it (one read, whatever the size of the table), and the
    table's connected routes only when that lookup does not settle it."""
    via, key = spec.get("via"), _key(spec)
    if via is None or spec.get("onlink"):
        return {"route": read_or_none(agent, "route_read", **key)}
    lookup = {"netns": spec.get("netns"), "dst": via}
    both = [Op(op="route_read", args=key), Op(op="route_get", args=lookup)]
    with asked_together(agent, both):
        found = read_or_none(agent, "route_read", **key)
        used = read_call(agent, "route_get", **lookup)
    if _direct(used):
        return {"route": found, "used": used}
    routes = agent.call("route_list", netns=spec.get("netns"))
    return {"route": found, "used": used, "routes": routes}


def _check_gateway(spec: Spec, observed: Mapping[str, Any]) -> None:
    """The gateway must lie in a network the namespace reaches directly; said
    before anything changes, in words, instead of the kernel's ENETUNREACH."""
    via = spec.get("via")
    if via is None or spec.get("onlink") or _direct(observed.get("used")):
        return
    gateway = ipaddress.ip_address(via)
    direct = [
        ipaddress.ip_network(r["dst"])
        for r in observed.get("routes") or []
        if r.get("dst") not in (None, "default") and _connected(r)
    ]
    direct = [net for net in direct if net.version == gateway.version]
    if not any(gateway in net for net in direct):
        where = f"namespace {spec['netns']}" if spec.get("netns") else "the host namespace"
        nets = ", ".join(sorted({str(n) for n in direct})) or "none"
        raise errors.InvalidInput(
            "via", f"{via} is not inside any network connected in {where} ({nets})"
        )


def plan(spec: Spec, observed: Mapping[str, Any], _olds: Spec) -> Plan:
    _check_gateway(spec, observed)
    own = claim(spec, rid=spec["resource_id"])
    ensure = Op(op="route_ensure", args={**_args(spec), **own})
    # A route that was there (this stack's, renamed or replaced) is taken over by
    # the agent's claim rule and stays if this create fails; another's is refused.
    undo = () if observed.get("route") is not None else tuple(retire(spec))
    return Plan(steps=(Step(op=ensure, undo=undo),))


def reads(spec: Spec) -> list[Op]:
    """What ``read`` asks (its answer rides in the change's batch)."""
    return [Op(op="route_read", args=_key(spec))]


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    route = read_or_none(agent, "route_read", **_key(outputs))
    if route is None or not is_mine(route.get("owner"), outputs, rid=rid):
        return None
    observed = dict(outputs)
    observed["resource_id"] = rid
    for key in ("via", "dev", "src"):
        # Fields left unset are the kernel's choice (dev from the gateway, src):
        # they read as unset, so verify and refresh compare only what was asked.
        if outputs.get(key) is not None or (key == "via" and route.get("via")):
            observed[key] = route.get(key)
    if "onlink" in outputs or route.get("onlink"):
        observed["onlink"] = bool(route.get("onlink"))
    return observed


def retire(spec: Spec) -> list[Op]:
    return [Op(op="route_delete", args={**_key(spec), **claim(spec, rid=spec["resource_id"])})]


KIND = register(Kind.of(sys.modules[__name__]))
