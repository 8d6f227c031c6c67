"""A filter rule, e.g. the seed's FORWARD accepts for bridge0 and bridge1.

Lives in ``HOSTNET-<CHAIN>`` of the filter table, jumped to first from the
built-in chain, and ordered there by ``position``. Rules of others (Docker's
DOCKER-USER, firewalld's) are left as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from hostnet.ids import make_id
from hostnet.resources import _iptables as ipt
from hostnet.resources._base import FieldPolicy, register
from hostnet.validate import Checker, Failure

NAME = "firewall_rule"
WHAT = "rule"
# Its name before kinds were named after their modules: the state of older
# stacks carries it.
ALIASES = ("firewall",)
POLICY = FieldPolicy(
    replace=frozenset({"host", "netns", "chain", "position", "name"}),
    update=frozenset(
        {
            "in_interface",
            "out_interface",
            "source",
            "destination",
            "protocol",
            "dport",
            "ctstate",
            "action",
        }
    ),
)
CHAINS = ("FORWARD", "INPUT", "OUTPUT")
ACTIONS = ("ACCEPT", "DROP", "REJECT", "RETURN")
# In the order iptables-save prints them.
CTSTATES = ("INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT")


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    c.netns()
    chain = c.choice("chain", CHAINS, default="FORWARD")
    c.choice("action", ACTIONS, default="ACCEPT")
    for key in ("source", "destination"):
        ipt.check_network(c, key)
    for key in ("in_interface", "out_interface"):
        ipt.check_interface(c, key)
    if chain == "INPUT" and news.get("out_interface") is not None:
        c.fail("out_interface", "INPUT has no outgoing interface")
    if chain == "OUTPUT" and news.get("in_interface") is not None:
        c.fail("in_interface", "OUTPUT has no incoming interface")
    ipt.check_protocol(c)
    ipt.check_port(c)
    _check_states(c)
    c.integer("position", low=0, high=9999)
    ipt.check_name(c)
    ipt.check_id_length(c, make_id_for)
    return c.result()


def _check_states(c: Checker) -> None:
    if not c.known("ctstate"):
        return
    states = c.news["ctstate"]
    bad = [s for s in states if s not in CTSTATES] if isinstance(states, list) else [states]
    if bad or not states:
        c.fail("ctstate", f"{bad or states!r}: states are {', '.join(CTSTATES)}")
    else:
        c.out["ctstate"] = sorted(set(states), key=CTSTATES.index)


def _name(inputs: Mapping[str, Any]) -> str:
    parts: list[Any] = [
        inputs.get("chain", "FORWARD"),
        inputs.get("in_interface") or "any",
        inputs.get("out_interface") or "any",
        inputs.get("protocol") or "all",
    ]
    if inputs.get("dport") is not None:
        parts.append(str(inputs["dport"]))
    if inputs.get("ctstate"):
        parts.append(",".join(inputs["ctstate"]))
    return ipt.rule_name(inputs, parts)


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(
        host=inputs["host"]["name"], kind=NAME, name=_name(inputs), netns=inputs.get("netns")
    )


def placement(inputs: Mapping[str, Any]) -> ipt.Placement:
    return ipt.placement_for("filter", inputs.get("chain", "FORWARD"))


def render(inputs: Mapping[str, Any]) -> list[str]:
    return [*ipt.match_tokens(inputs), "-j", inputs.get("action", "ACCEPT")]


KIND = register(ipt.rule_kind(sys.modules[__name__]))
