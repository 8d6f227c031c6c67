"""What NatRule and FirewallRule share: hostnet's own chains and marked rules.

Every rule lives in a chain of hostnet's (``HOSTNET-FORWARD``, ...), reached by
one jump from the built-in chain, and carries its owner's mark as comment.
Chains and rules of others (Docker's, firewalld's) are never flushed, deleted
or rewritten.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import create_or_undo, delete_quietly, note_made
from hostnet.validate import Checker, ifname_problem

PROTOCOLS = ("tcp", "udp", "icmp", "sctp")
# Matches iptables-save adds by itself; ignored when comparing a rule read back.
_IMPLICIT = {("-m", "tcp"), ("-m", "udp"), ("-m", "sctp"), ("-m", "icmp")}


@dataclass(frozen=True, kw_only=True)
class Placement:
    table: str
    chain: str
    parent: str


def placement_for(table: str, parent: str) -> Placement:
    return Placement(table=table, chain=f"HOSTNET-{parent}", parent=parent)


def check_network(c: Checker, key: str) -> None:
    value = c.news.get(key)
    if value is None:
        return
    negate, text = _negation(value)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        c.fail(key, f"{value!r} is not an address or network")
        return
    c.out[key] = ("!" if negate else "") + str(network)


def check_interface(c: Checker, key: str) -> None:
    """An interface name, negated with a leading '!' as iptables allows (``!bridge0``)."""
    value = c.news.get(key)
    if value is None:
        return
    negate, name = _negation(value)
    problem = ifname_problem(name.rstrip("+") or "+")
    if problem:
        c.fail(key, problem)
        return
    c.out[key] = ("!" if negate else "") + name


def check_port(c: Checker, *, key: str = "dport") -> None:
    port = c.integer(key, low=1, high=65535)
    if port is not None and c.out.get("protocol") not in ("tcp", "udp", "sctp"):
        c.fail(key, "a port needs protocol tcp, udp or sctp")


def check_protocol(c: Checker) -> None:
    value = c.news.get("protocol")
    if value is None:
        return
    if value not in PROTOCOLS:
        c.fail("protocol", f"{value!r} is not one of {', '.join(PROTOCOLS)}")
        return
    c.out["protocol"] = value


def check_name(c: Checker) -> None:
    if isinstance(c.news.get("name"), str):
        c.out["name"] = c.news["name"]


def rule_name(inputs: Mapping[str, Any], parts: list[Any]) -> str:
    """The rule's own name in its id: ``name`` if given, else its parts joined."""
    if inputs.get("name"):
        return str(inputs["name"])
    return ":".join(str(p) for p in parts)


def _negation(value: object) -> tuple[bool, str]:
    text = str(value).strip()
    if text.startswith("!"):
        return True, text[1:].strip()
    return False, text


def _opt(flag: str, value: Any) -> list[str]:
    if value is None:
        return []
    negate, text = _negation(value)
    return ["!", flag, text] if negate else [flag, text]


def match_tokens(inputs: Mapping[str, Any]) -> list[str]:
    """The match part of a rule in the order iptables-save prints it."""
    tokens = _opt("-s", inputs.get("source")) + _opt("-d", inputs.get("destination"))
    tokens += _opt("-i", inputs.get("in_interface")) + _opt("-o", inputs.get("out_interface"))
    if inputs.get("protocol"):
        tokens += ["-p", inputs["protocol"]]
    if inputs.get("dport") is not None:
        tokens += ["-m", inputs["protocol"], "--dport", str(inputs["dport"])]
    if inputs.get("ctstate"):
        tokens += ["-m", "conntrack", "--ctstate", ",".join(inputs["ctstate"])]
    return tokens


def comparable(tokens: list[str]) -> list[str]:
    """Drop what iptables adds or reorders by itself, so a read-back rule compares."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        pair = (tokens[i], tokens[i + 1]) if i + 1 < len(tokens) else None
        if pair in _IMPLICIT:
            i += 2
            continue
        if pair == ("-m", "comment"):
            i += 4  # -m comment --comment TEXT
            continue
        if i > 0 and tokens[i - 1] in ("--ctstate", "--state"):
            out.append(",".join(sorted(tokens[i].split(","))))
        else:
            out.append(tokens[i])
        i += 1
    return out


class RuleKind:
    """Lifecycle of one marked rule; ``render`` turns inputs into rule tokens."""

    def __init__(
        self,
        *,
        placement: Callable[[Mapping[str, Any]], Placement],
        render: Callable[[Mapping[str, Any]], list[str]],
        make_id_for: Callable[[Mapping[str, Any]], str],
    ) -> None:
        self.placement = placement
        self.render = render
        self.make_id_for = make_id_for

    def _ops(self, inputs: Mapping[str, Any], rid: str) -> list[Op]:
        where = self.placement(inputs)
        netns = inputs.get("netns")
        chain = {"netns": netns, "table": where.table, "chain": where.chain}
        return [
            Op(op="ipt_ensure_chain", args={**chain, "parent": where.parent}),
            Op(
                op="ipt_ensure_rule",
                args={
                    **chain,
                    "rule": self.render(inputs),
                    **claim(inputs, rid=rid),
                    "priority": inputs.get("position"),
                },
            ),
        ]

    def create(self, agent: Agent, inputs: Mapping[str, Any]) -> dict[str, Any]:
        rid = self.make_id_for(inputs)

        def make() -> dict[str, Any]:
            # Undo removes only this instance's rule, and the chain once empty:
            # safe whatever this create got to before failing.
            note_made()
            # One batch: the agent holds the host lock across chain and rule.
            agent.batch(self._ops(inputs, rid))
            observed = self.read(agent, {**inputs, "resource_id": rid})
            if observed is None or observed.get("rule") != comparable(self.render(inputs)):
                raise errors.VerifyFailed(f"{rid}: rule not found as written after apply")
            return observed

        return create_or_undo(make, lambda: self.delete(agent, {**inputs, "resource_id": rid}))

    def update(
        self, agent: Agent, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        rid = olds.get("resource_id") or self.make_id_for(news)
        agent.batch(self._ops(news, rid))
        if self.placement(olds) != self.placement(news):
            # The rule moved to another chain (masquerade to dnat): the old one goes.
            self.delete(agent, {**olds, "resource_id": rid})
        observed = self.read(agent, {**news, "resource_id": rid})
        if observed is None:
            raise errors.VerifyFailed(f"{rid}: rule not found after update")
        return observed

    def read(self, agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
        rid = outputs.get("resource_id") or self.make_id_for(outputs)
        where = self.placement(outputs)
        chain = {"netns": outputs.get("netns"), "table": where.table, "chain": where.chain}
        rules, reach = agent.batch(
            [
                Op(op="ipt_read_rules", args=chain),
                Op(op="ipt_read_chain", args={**chain, "parent": where.parent}),
            ]
        )
        found = next((r for r in rules or [] if is_mine(r.get("owner"), outputs, rid=rid)), None)
        if found is None or not reach or reach["jump"] is None or reach["shadowed"]:
            # A rule its chain's jump no longer reaches does nothing: read as
            # gone, so `pulumi up` puts the jump back.
            return None
        rule = comparable(list(found["rule"]))
        if rule != comparable(self.render(outputs)):
            # Edited by hand: read as gone, so `pulumi up` writes it again in place.
            return None
        return {**outputs, "resource_id": rid, "rule": rule}

    def delete(self, agent: Agent, outputs: Mapping[str, Any]) -> None:
        rid = outputs.get("resource_id") or self.make_id_for(outputs)
        where = self.placement(outputs)
        chain = {"netns": outputs.get("netns"), "table": where.table, "chain": where.chain}
        delete_quietly(
            agent,
            [
                Op(op="ipt_delete_rule", args={**chain, **claim(outputs, rid=rid)}),
                # Removed only once no rule is left in it, and only hostnet's.
                Op(op="ipt_delete_chain", args={**chain, "parent": where.parent}),
            ],
            rid=rid,
        )
