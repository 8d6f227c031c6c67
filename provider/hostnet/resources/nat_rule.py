"""A NAT rule: MASQUERADE or SNAT for traffic leaving, DNAT for traffic arriving.

Lives in hostnet's chains of the nat table (``HOSTNET-POSTROUTING``,
``HOSTNET-PREROUTING``); Docker's and firewalld's nat chains stay untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hostnet.ids import make_id
from hostnet.resources import _iptables as ipt
from hostnet.resources._base import Failure, FieldPolicy
from hostnet.validate import Checker

KIND = "nat"
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
    c = Checker(news)
    c.host()
    c.netns()
    kind = news.get("kind")
    if kind not in KINDS:
        c.fail("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    else:
        c.out["kind"] = kind
    for key in ("source", "destination"):
        ipt.check_network(c, key)
    for key in ("in_interface", "out_interface"):
        ipt.check_interface(c, key)
    ipt.check_protocol(c)
    ipt.check_port(c)
    c.integer("position", low=0, high=9999)
    if kind in ("snat", "dnat"):
        if not isinstance(news.get("to"), str) or not news["to"]:
            c.fail("to", f"{kind} needs to= (an address, or address:port)")
        else:
            c.out["to"] = news["to"]
    elif news.get("to") is not None:
        c.fail("to", "only snat and dnat take to=")
    if kind == "dnat" and news.get("out_interface"):
        c.fail("out_interface", "dnat happens before routing; match in_interface instead")
    if kind in ("masquerade", "snat") and news.get("in_interface"):
        c.fail("in_interface", "masquerade and snat happen after routing; match out_interface")
    ipt.check_name(c)
    return c.result()


def _name(inputs: Mapping[str, Any]) -> str:
    interface = inputs.get("out_interface") or inputs.get("in_interface") or "any"
    return ipt.rule_name(inputs, [inputs["kind"], inputs.get("source") or "any", interface])


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(
        host=inputs["host"]["name"], kind=KIND, name=_name(inputs), netns=inputs.get("netns")
    )


def _placement(inputs: Mapping[str, Any]) -> ipt.Placement:
    return ipt.placement_for("nat", "PREROUTING" if inputs["kind"] == "dnat" else "POSTROUTING")


def _render(inputs: Mapping[str, Any]) -> list[str]:
    tokens = ipt.match_tokens(inputs)
    kind = inputs["kind"]
    if kind == "masquerade":
        return [*tokens, "-j", "MASQUERADE"]
    if kind == "snat":
        return [*tokens, "-j", "SNAT", "--to-source", inputs["to"]]
    return [*tokens, "-j", "DNAT", "--to-destination", inputs["to"]]


_RULE = ipt.RuleKind(placement=_placement, render=_render, make_id_for=make_id_for)
create, read, update, delete = _RULE.create, _RULE.read, _RULE.update, _RULE.delete
