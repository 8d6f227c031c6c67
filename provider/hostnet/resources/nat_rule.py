"""A NAT rule: MASQUERADE or SNAT for traffic leaving, DNAT for traffic arriving.

Lives in hostnet's chains of the nat table (``HOSTNET-POSTROUTING``,
``HOSTNET-PREROUTING``); Docker's and firewalld's nat chains stay untouched.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping
from typing import Any

from hostnet.ids import make_id
from hostnet.resources import _iptables as ipt
from hostnet.resources._base import FieldPolicy, register
from hostnet.validate import Checker, Failure

NAME = "nat_rule"
WHAT = "rule"
# Its name before kinds were named after their modules: the state of older
# stacks carries it.
ALIASES = ("nat",)
POLICY = FieldPolicy(
    replace=frozenset({"host", "netns", "position", "name"}),
    update=frozenset(
        {
            "kind",
            "source",
            "destination",
            "out_interface",
            "in_interface",
            "to",
            "protocol",
            "dport",
        }
    ),
)
KINDS = ("masquerade", "snat", "dnat")


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    c.netns()
    kind = c.choice("kind", KINDS)
    for key in ("source", "destination"):
        ipt.check_network(c, key)
    for key in ("in_interface", "out_interface"):
        ipt.check_interface(c, key)
    ipt.check_protocol(c)
    ipt.check_port(c)
    c.integer("position", low=0, high=9999)
    _check_to(c, kind)
    if kind == "dnat" and news.get("out_interface") is not None:
        c.fail("out_interface", "dnat happens before routing; match in_interface instead")
    if kind in ("masquerade", "snat") and news.get("in_interface") is not None:
        c.fail("in_interface", "masquerade and snat happen after routing; match out_interface")
    ipt.check_name(c)
    ipt.check_id_length(c, make_id_for)
    return c.result()


def _check_to(c: Checker, kind: str | None) -> None:
    """``to``: ``addr[-addr][:port[-port]]``, IPv4, as iptables' --to-source/--to-destination."""
    if c.news.get("to") is None:
        if kind in ("snat", "dnat"):
            c.fail("to", f"{kind} needs to= (an address, or address:port)")
        return
    if not c.known("to"):
        return
    if kind == "masquerade":
        c.fail("to", "only snat and dnat take to=")
        return
    value = c.news["to"]
    problem = _to_problem(value)
    if problem:
        c.fail("to", f"{value!r} {problem}")
        return
    if ":" in value and not c.unknown("protocol") and c.out.get("protocol") not in ipt.PORTS:
        c.fail("to", f"{value!r} names a port; that needs protocol tcp, udp or sctp")
        return
    c.out["to"] = value


def _to_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return "is not addr[-addr][:port[-port]]"
    if value.count(":") > 1 or value.startswith("["):
        return ipt.IPV6_REFUSED
    addresses, _, ports = value.partition(":")
    for part in addresses.split("-", 1):
        try:
            address = ipaddress.ip_address(part)
        except ValueError:
            return "is not addr[-addr][:port[-port]] with IPv4 addresses"
        if address.version == 6:
            return ipt.IPV6_REFUSED
    return _ports_problem(ports) if ports else None


def _ports_problem(ports: str) -> str | None:
    bounds = ports.split("-", 1)
    if not all(p.isdigit() and 1 <= int(p) <= 65535 for p in bounds):
        return f"has port {ports!r}; ports are 1..65535"
    if len(bounds) == 2 and int(bounds[0]) > int(bounds[1]):
        return f"has the port range {ports!r} backwards"
    return None


def _name(inputs: Mapping[str, Any]) -> str:
    interface = inputs.get("out_interface") or inputs.get("in_interface") or "any"
    return ipt.rule_name(inputs, [inputs["kind"], inputs.get("source") or "any", interface])


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(
        host=inputs["host"]["name"], kind=NAME, name=_name(inputs), netns=inputs.get("netns")
    )


def placement(inputs: Mapping[str, Any]) -> ipt.Placement:
    return ipt.placement_for("nat", "PREROUTING" if inputs["kind"] == "dnat" else "POSTROUTING")


def render(inputs: Mapping[str, Any]) -> list[str]:
    tokens = ipt.match_tokens(inputs)
    kind = inputs["kind"]
    if kind == "masquerade":
        return [*tokens, "-j", "MASQUERADE"]
    if kind == "snat":
        return [*tokens, "-j", "SNAT", "--to-source", inputs["to"]]
    return [*tokens, "-j", "DNAT", "--to-destination", inputs["to"]]


KIND = register(ipt.rule_kind(sys.modules[__name__]))
