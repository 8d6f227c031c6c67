"""What NatRule and FirewallRule share: hostnet's own chains and marked rules.

Every rule lives in a chain of hostnet's (``HOSTNET-FORWARD``, ...), reached by
one jump from the built-in chain, and carries its owner's mark as comment.
Chains and rules of others (Docker's, firewalld's) are never flushed, deleted
or rewritten.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import Kind, Plan, Spec, Step
from hostnet.unknown import is_unknown
from hostnet.validate import Checker, ifname_problem

PROTOCOLS = ("tcp", "udp", "icmp", "sctp")
PORTS = ("tcp", "udp", "sctp")
# Matches iptables-save adds by itself; ignored when comparing a rule read back.
_IMPLICIT = {("-m", "tcp"), ("-m", "udp"), ("-m", "sctp"), ("-m", "icmp")}


@dataclass(frozen=True, kw_only=True)
class Placement:
    table: str
    chain: str
    parent: str


def placement_for(table: str, parent: str) -> Placement:
    return Placement(table=table, chain=f"HOSTNET-{parent}", parent=parent)


IPV6_REFUSED = (
    "is IPv6; NatRule and FirewallRule write iptables (IPv4) rules only, and hostnet "
    "manages no ip6tables rules"
)
# The agent's limit on a plain owner mark, which is a rule's id where no owner is given.
MAX_ID_BYTES = 200
_RULE_NAME = re.compile(r"[A-Za-z0-9_.,:!@+=/-]{1,100}")


def check_network(c: Checker, key: str) -> None:
    if not c.known(key):
        return
    value = c.news[key]
    negate, text = _negation(value)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        c.fail(key, f"{value!r} is not an address or network")
        return
    if network.version == 6:
        c.fail(key, f"{value} {IPV6_REFUSED}")
        return
    c.out[key] = ("!" if negate else "") + str(network)


def check_interface(c: Checker, key: str) -> None:
    """An interface name, negated with a leading '!' as iptables allows (``!bridge0``)."""
    if not c.known(key):
        return
    negate, name = _negation(c.news[key])
    problem = ifname_problem(name.rstrip("+") or "+")
    if problem:
        c.fail(key, problem)
        return
    c.out[key] = ("!" if negate else "") + name


def check_port(c: Checker, *, key: str = "dport") -> None:
    port = c.integer(key, low=1, high=65535)
    if port is not None and not c.unknown("protocol") and c.out.get("protocol") not in PORTS:
        c.fail(key, "a port needs protocol tcp, udp or sctp")


def check_protocol(c: Checker) -> None:
    if c.news.get("protocol") is not None:
        c.choice("protocol", PROTOCOLS)


def check_name(c: Checker) -> None:
    if not c.known("name"):
        return
    value = c.news["name"]
    if (
        not isinstance(value, str)
        or not _RULE_NAME.fullmatch(value)
        or any(part in ("", ".", "..") for part in value.split("/"))
    ):
        c.fail(
            "name",
            f"{value!r} is not a rule name: at most 100 of letters, digits and . , : ! @ + = _ - /"
            " (no spaces or quotes, no empty, '.' or '..' part between slashes)",
        )
        return
    c.out["name"] = value


def check_id_length(c: Checker, make_id_for: Callable[[Mapping[str, Any]], str]) -> None:
    """The rule's id is its mark on the host, which the agent keeps under 200 bytes."""
    if c.failures or any(is_unknown(v) for v in c.out.values()):
        return
    rid = make_id_for(c.out)
    if len(rid.encode()) > MAX_ID_BYTES:
        field = "name" if c.out.get("name") else "source"
        c.fail(
            field,
            f"the rule's id {rid[:60]!r}... is {len(rid.encode())} bytes; a hostnet id (the "
            f"host's mark where no owner is given) is at most {MAX_ID_BYTES}: give a shorter name",
        )


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


@dataclass(frozen=True, kw_only=True)
class _Rules:
    """The lifecycle of one marked rule; ``render`` turns a spec into rule tokens."""

    placement: Callable[[Mapping[str, Any]], Placement]
    render: Callable[[Mapping[str, Any]], list[str]]
    make_id_for: Callable[[Mapping[str, Any]], str]

    def _chain(self, spec: Spec) -> dict[str, Any]:
        where = self.placement(spec)
        return {"netns": spec.get("netns"), "table": where.table, "chain": where.chain}

    def _made(self, spec: Spec) -> tuple[Step, Step]:
        chain, parent = self._chain(spec), self.placement(spec).parent
        own = claim(spec, rid=spec["resource_id"])
        rule = {**chain, "rule": self.render(spec), **own, "priority": spec.get("position")}
        # Undone, only this instance's rule goes, and the chain once no rule is
        # left in it: safe whatever the plan got to before failing.
        return (
            Step(
                op=Op(op="ipt_ensure_chain", args={**chain, "parent": parent}),
                undo=(Op(op="ipt_delete_chain", args={**chain, "parent": parent}),),
            ),
            Step(
                op=Op(op="ipt_ensure_rule", args=rule),
                undo=(Op(op="ipt_delete_rule", args={**chain, **own}),),
            ),
        )

    def observe(self, _agent: Agent, _spec: Spec) -> None:
        """Nothing: the agent's ensures decide in place (a rule of this resource
        is rewritten, another's kept), and the plan needs only the spec and olds."""
        return None

    def plan(self, spec: Spec, _observed: None, olds: Spec) -> Plan:
        steps = self._made(spec)
        if not olds or self.placement(olds) == self.placement(spec):
            return Plan(steps=steps)
        # The rule moves to another chain (masquerade to dnat): the old one goes in
        # the same batch, and comes back if a later step fails.
        old = {**olds, "resource_id": spec["resource_id"]}
        gone, empty = self.retire(old)
        restore = tuple(step.op for step in self._made(old))
        return Plan(steps=(*steps, Step(op=gone, undo=restore), Step(op=empty)))

    def read(self, agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
        rid = outputs.get("resource_id") or self.make_id_for(outputs)
        chain = self._chain(outputs)
        rules, reach = agent.batch(
            [
                Op(op="ipt_read_rules", args=chain),
                Op(op="ipt_read_chain", args={**chain, "parent": self.placement(outputs).parent}),
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

    def verify(self, observed: dict[str, Any] | None, spec: Spec) -> dict[str, Any]:
        """Create and update alike: the rule is there, reached, and as rendered."""
        if observed is None or observed.get("rule") != comparable(self.render(spec)):
            rid = spec["resource_id"]
            raise errors.VerifyFailed(f"{rid}: rule not found as written after apply")
        return observed

    def retire(self, spec: Spec) -> list[Op]:
        chain = self._chain(spec)
        return [
            Op(op="ipt_delete_rule", args={**chain, **claim(spec, rid=spec["resource_id"])}),
            # Removed only once no rule is left in it, and only hostnet's.
            Op(op="ipt_delete_chain", args={**chain, "parent": self.placement(spec).parent}),
        ]


def rule_kind(module: ModuleType) -> Kind:
    """The Kind of NatRule or FirewallRule: what differs is where the rule goes
    (the module's ``placement``) and how its inputs become iptables tokens
    (``render``); the lifecycle is this module's."""
    rules = _Rules(placement=module.placement, render=module.render, make_id_for=module.make_id_for)
    return Kind.of(
        module,
        observe=rules.observe,
        plan=rules.plan,
        read=rules.read,
        retire=rules.retire,
        verify=rules.verify,
    )
