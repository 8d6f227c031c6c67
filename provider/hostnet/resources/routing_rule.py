"""A policy routing rule (``ip rule``) on a host or in a namespace.

Selectors src, dst (``ip rule from/to``), iif, oif, fwmark (with fwmask), tos;
the action looks up a table (``Route(table=...)`` fills it) or answers
unreachable, prohibit or blackhole. A rule is named by its priority (and
family): 1..32765, so the kernel's rules 0, 32766 and 32767 are never touched.

hostnet's rules carry protocol 77 (Linux 4.17 and later) and the resource instance
that owns them in a record under /run/hostnet/rules. Older kernels keep no
protocol on rules: there hostnet's rules must use priorities 1000-1999, and the
record (which holds the rule) tells them apart. Rules of other protocols (made
by hand, by another daemon) are never changed or deleted, even at the same priority.
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
from hostnet.unknown import is_unknown
from hostnet.validate import Checker, Failure

NAME = "routing_rule"
WHAT = "rule"
# Its name before kinds were named after their modules: the state of older
# stacks carries it.
ALIASES = ("rule",)
SELECTORS = ("src", "dst", "iif", "oif", "fwmark", "fwmask", "tos")
ACTIONS = ("table", "unreachable", "prohibit", "blackhole")
POLICY = FieldPolicy(
    replace=frozenset({"host", "netns", "priority", "family"}),
    update=frozenset({*SELECTORS, "action", "table"}),
)


def _network(c: Checker, key: str) -> int | None:
    value = c.news.get(key)
    if value is None or is_unknown(value):
        if value is not None:
            c.out[key] = value
        return None
    try:
        network = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError) as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(value, strict=False)
            c.fail(key, f"{value} has host bits set; the network is {loose}")
        else:
            c.fail(key, f"{value!r} is not an address or network")
        return None
    c.out[key] = str(network)
    return network.version


def _action(c: Checker) -> None:
    action = c.news.get("action") or "table"
    if is_unknown(action):
        c.out["action"] = action
        return
    if action not in ACTIONS:
        c.fail("action", f"{action!r} is not one of {', '.join(ACTIONS)}")
        return
    c.out["action"] = action
    table = c.integer("table", low=1, high=2**32 - 1)
    if action == "table" and c.news.get("table") is None:
        c.fail("table", "a rule whose action is 'table' needs the table to look up")
    if action != "table" and table is not None:
        c.fail("table", f"a rule whose action is {action!r} looks up no table")


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    c.netns()
    c.integer("priority", low=1, high=32765, required=True)
    families = {v for v in (_network(c, "src"), _network(c, "dst")) if v is not None}
    family = c.integer("family", low=4, high=6)
    if family == 5:
        c.fail("family", "is 4 or 6")
    if len(families) > 1 or (family in (4, 6) and families - {family}):
        c.fail("dst", "src and dst must be of one family")
    if "family" not in c.out:
        c.out["family"] = families.pop() if families else 4
    c.ifname("iif", required=False)
    c.ifname("oif", required=False)
    fwmark = c.integer("fwmark", low=0, high=2**32 - 1)
    c.integer("fwmask", low=0, high=2**32 - 1)
    if news.get("fwmask") is not None and news.get("fwmark") is None:
        c.fail("fwmask", "a mask needs the fwmark it applies to")
    if fwmark == 0 and news.get("fwmask") is None:
        c.fail("fwmark", "0 without a fwmask selects nothing; give the mask it applies to")
    if c.integer("tos", low=0, high=255) == 0:
        del c.out["tos"]  # tos 0 is no selector: the kernel reports none
    _action(c)
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    name = str(inputs["priority"])
    if inputs.get("family") == 6:
        name += "/ipv6"
    return make_id(host=inputs["host"]["name"], kind=NAME, name=name, netns=inputs.get("netns"))


def _key(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: inputs.get(k) for k in ("netns", "family", "priority")}


def observe(agent: Agent, spec: Spec) -> dict[str, Any] | None:
    found: dict[str, Any] | None = read_or_none(agent, "rule_read", **_key(spec))
    return found


def plan(spec: Spec, observed: dict[str, Any] | None, _olds: Spec) -> Plan:
    wanted = {k: spec.get(k) for k in (*SELECTORS, "action", "table")}
    own = claim(spec, rid=spec["resource_id"])
    ensure = Op(op="rule_ensure", args={**_key(spec), **wanted, **own})
    # A rule that was there (this stack's, renamed or replaced) is taken over by
    # the agent's claim rule and stays if this create fails; another's is refused.
    undo = () if observed is not None else tuple(retire(spec))
    return Plan(steps=(Step(op=ensure, undo=undo),))


def reads(spec: Spec) -> list[Op]:
    """What ``read`` asks (its answer rides in the change's batch)."""
    return [Op(op="rule_read", args=_key(spec))]


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    rule = read_or_none(agent, "rule_read", **_key(outputs))
    if rule is None or not is_mine(rule.get("owner"), outputs, rid=rid):
        return None
    observed = {k: v for k, v in outputs.items() if k not in POLICY.update}
    observed["resource_id"] = rid
    for key in (*SELECTORS, "action", "table"):
        value = rule.get(key)
        if key == "fwmask" and outputs.get("fwmask") is None and value == 0xFFFFFFFF:
            value = None  # the kernel's full mask for a bare fwmark
        if value is not None or outputs.get(key) is not None:
            observed[key] = value
    return observed


def retire(spec: Spec) -> list[Op]:
    return [Op(op="rule_delete", args={**_key(spec), **claim(spec, rid=spec["resource_id"])})]


KIND = register(Kind.of(sys.modules[__name__]))
