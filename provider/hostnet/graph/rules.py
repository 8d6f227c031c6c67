"""NAT and filter rules as badges on the interfaces they match.

A rule sits on the interface it sends traffic out of, else the one traffic comes
in by, else the interface whose network is the rule's source; a rule that names
none of these sits on its namespace's own node. Built-in chains and hostnet's
``HOSTNET-*`` chains are drawn; a jump into another program's chain (Docker's,
firewalld's) is drawn as one badge, not the chain's contents.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hostnet.graph.links import networks
from hostnet.graph.model import (
    HOSTNET,
    MARK,
    Badge,
    Draft,
    HostView,
    in_order,
    link_key,
    owner_of,
)

DRAWN = {"filter": ("INPUT", "FORWARD"), "nat": ("PREROUTING", "POSTROUTING")}
OWN_PREFIX = "HOSTNET-"
FOREIGN_SHOWN = 6  # per namespace; the rest are counted in one badge


@dataclass(frozen=True, kw_only=True)
class Rule:
    table: str
    chain: str
    options: Mapping[str, str]  # option -> value, "!" prefixed when negated
    target: str
    comment: str | None

    def iface(self, option: str, *, negated: bool = False) -> str | None:
        value = self.options.get(option)
        if value is None or value.startswith("!") != negated:
            return None
        return value.lstrip("!")

    @property
    def text(self) -> str:
        o = self.options
        parts = [self.chain.removeprefix(OWN_PREFIX), self.target]
        parts += [f"from {o['-s']}"] if "-s" in o else []
        parts += [f"to {o['-d']}"] if "-d" in o else []
        parts += [f"in {o['-i']}"] if "-i" in o else []
        parts += [f"out {o['-o']}"] if "-o" in o else []
        if "-p" in o:
            parts.append(o["-p"] + (f"/{o['--dport']}" if "--dport" in o else ""))
        parts += [o["--ctstate"]] if "--ctstate" in o else []
        for option in ("--to-source", "--to-destination"):
            parts += [f"to {o[option]}"] if option in o else []
        return " ".join(parts)


def parse(table: str, line: str) -> Rule | None:
    """One ``-A CHAIN ...`` line of iptables-save; None for anything else."""
    words = shlex.split(line)
    if len(words) < 2 or words[0] != "-A":
        return None
    options: dict[str, str] = {}
    target, comment, negate = "", None, False
    rest = iter(words[2:])
    for word in rest:
        if word == "!":
            negate = True
            continue
        if word in ("-j", "-g"):
            target = next(rest, "")
        elif word == "--comment":
            comment = next(rest, None)
        elif word.startswith("-") and word not in ("-m",):
            value = next(rest, "")
            options[word] = ("!" if negate else "") + value
        elif word == "-m":
            next(rest, None)
        negate = False
    return Rule(table=table, chain=words[1], options=options, target=target, comment=comment)


def mark_of(comment: str | None) -> str | None:
    """hostnet's mark in a rule comment: its first word (``hostnet:<id> prio=N``)."""
    words = (comment or "").split()
    return words[0] if words and words[0].startswith(MARK) else None


def _drawn(rule: Rule) -> bool:
    if rule.chain.startswith(OWN_PREFIX):
        return True
    return rule.chain in DRAWN.get(rule.table, ()) and not rule.target.startswith(OWN_PREFIX)


def _by_source(draft: Draft, host: str, ns: str | None, source: str | None) -> str | None:
    if not source or source.startswith("!"):
        return None
    wanted = ipaddress.ip_network(source, strict=False)
    for key, at in draft.links.items():
        if (at.host, at.ns) == (host, ns):
            for net in networks(at.get("addresses") or []):
                if wanted.version == ipaddress.ip_network(net).version and wanted.subnet_of(
                    ipaddress.ip_network(net)  # type: ignore[arg-type]
                ):
                    return key
    return None


def place(draft: Draft, *, host: str, ns: str | None, rule: Rule) -> str:
    """The node a rule's badge belongs on (see the module's docstring)."""
    named = [rule.iface("-o"), rule.iface("-i")]
    for name in named:
        if name and link_key(host, ns, name) in draft.nodes:
            return link_key(host, ns, name)
    by_source = _by_source(draft, host, ns, rule.options.get("-s"))
    if by_source:
        return by_source
    for name in (rule.iface("-o", negated=True), rule.iface("-i", negated=True)):
        if name and link_key(host, ns, name) in draft.nodes:
            return link_key(host, ns, name)
    return draft.anchor(host, ns).key


def _policy(table: str, line: str) -> Badge | None:
    """A built-in chain whose policy is not ACCEPT (firewalld's, Docker's DROP)."""
    words = line[1:].split()
    if len(words) >= 2 and words[0] in DRAWN.get(table, ()) and words[1] not in ("ACCEPT", "-"):
        return Badge(text=f"{words[0]} policy {words[1]}", kind="policy")
    return None


def _namespace_rules(draft: Draft, host: str, ns: str | None, dump: Mapping[str, Any]) -> None:
    hidden = shown = 0
    for table, lines in (dump.get("rules") or {}).items():
        for line in lines:
            policy = _policy(table, line) if line.startswith(":") else None
            if policy is not None:
                draft.badge(draft.anchor(host, ns).key, policy)
            rule = parse(table, line)
            if rule is None or not _drawn(rule):
                continue
            owner = owner_of(mark_of(rule.comment))
            if owner != HOSTNET and shown >= FOREIGN_SHOWN:
                hidden += 1
                continue
            shown += owner != HOSTNET
            kind = "nat" if table == "nat" else "filter"
            badge = Badge(text=rule.text, kind=kind, owner=owner, mark=mark_of(rule.comment))
            draft.badge(place(draft, host=host, ns=ns, rule=rule), badge)
    if hidden:
        text = f"{hidden} more rules of other programs"
        draft.badge(draft.anchor(host, ns).key, Badge(text=text, kind="filter"))


def add_rules(draft: Draft, view: HostView) -> None:
    for ns, dump in in_order(view.namespaces):
        _namespace_rules(draft, view.name, ns, dump)
