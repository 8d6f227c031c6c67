"""Policy rule ops on the model, as hostnet.agent.rules does them: hostnet's rules
carry protocol 77 and an owner record (kind ``rules``, key ``<family>-<priority>``)
holding the rule. On a kernel that keeps no protocol on rules (Host.rule_protocol
False: before 4.17) hostnet's rules lie in the priority band 1000-1999 and are
the ones that match their record."""

from __future__ import annotations

from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import Exists, Invalid
from hostnet.agent.owner import MARK_PREFIX, Claim, owner_view, parse_mark
from hostnet.agent.rules import BAND, RESERVED, RTPROT_HOSTNET, wanted

from .common import find_ns, require_ns
from .model import Host, Netns

_SELECTORS = ("src", "dst", "iif", "oif", "fwmark", "fwmask", "tos")
_FIELDS = ("priority", "family", *_SELECTORS, "action", "table", "protocol")


def _view(rule: dict[str, Any]) -> dict[str, Any]:
    """A RULE as rules.view reports it: every field, a bare fwmark with the full mask."""
    found = {k: rule.get(k) for k in _FIELDS}
    if found["fwmark"] is not None and found["fwmask"] is None:
        found["fwmask"] = 0xFFFFFFFF
    return found


def _same(found: dict[str, Any], want: dict[str, Any]) -> bool:
    fwmask = want["fwmask"] if want["fwmask"] is not None else 0xFFFFFFFF
    if want["fwmark"] is not None and found.get("fwmask") != fwmask:
        return False
    keys = (*_SELECTORS, "action", "table", "priority", "family")
    return all(found.get(k) == want.get(k) for k in keys if k != "fwmask")


def _record(host: Host, ns: Netns, family: int, priority: int) -> tuple[str, str, str]:
    return host.record_key(ns, "rules", f"{family}-{priority}")


def _at(ns: Netns, family: int, priority: int) -> list[dict[str, Any]]:
    return [_view(r) for r in ns.rules if r["family"] == family and r.get("priority") == priority]


def _ours(host: Host, ns: Netns, family: int, priority: int) -> list[dict[str, Any]]:
    at = _at(ns, family, priority)
    if host.rule_protocol:
        return [r for r in at if r["protocol"] == RTPROT_HOSTNET]
    record = host.records.get(_record(host, ns, family, priority))
    spec = record.get("rule") if record is not None else None
    return [r for r in at if isinstance(spec, dict) and _same(r, spec)]


def _mark(host: Host, ns: Netns, family: int, priority: int, claim: Claim | None = None) -> str:
    record = host.records.get(_record(host, ns, family, priority))
    if record is not None:
        return MARK_PREFIX + str(record.get("owner") or "")
    return MARK_PREFIX + ((claim.legacy if claim is not None else None) or "")


def _priority(args: Args) -> int:
    priority = args.integer("priority", lo=1, hi=32765)
    if priority in RESERVED:
        raise Invalid(f"{args.op}: priority {priority} is one of the kernel's own rules")
    return priority


def _remove(ns: Netns, rule: dict[str, Any]) -> None:
    ns.rules = [r for r in ns.rules if _view(r) != rule]


def rule_ensure(host: Host, args: Args) -> Any:
    want, claim = wanted(args), args.claim()
    ns = require_ns(host, args)
    family, priority = want["family"], want["priority"]
    if not host.rule_protocol and not BAND[0] <= priority <= BAND[1]:
        raise Invalid(
            f"{args.op}: this kernel keeps no protocol on rules; hostnet's rules must use "
            f"priorities {BAND[0]}-{BAND[1]}"
        )
    mine = _ours(host, ns, family, priority)
    label = f"rule {priority} (IPv{family})"
    if mine:
        claim.check(_mark(host, ns, family, priority, claim), what=label)
    same = [r for r in mine if _same(r, want)]
    if not same and any(_same(r, want) for r in _at(ns, family, priority)):
        raise Exists(f"{label} exists as the same rule, not hostnet's")
    host.records[_record(host, ns, family, priority)] = {"owner": claim.me.body(), "rule": want}
    if not same:
        ns.rules.append({**want, "protocol": RTPROT_HOSTNET if host.rule_protocol else None})
    for old in mine:
        if not _same(old, want):
            _remove(ns, old)
    now = [r for r in _ours(host, ns, family, priority) if _same(r, want)]
    return {**now[0], "owner": owner_view(claim.me.mark()), "created": not mine}


def rule_read(host: Host, args: Args) -> Any:
    family, priority = args.integer("family", default=4, lo=4, hi=6), _priority(args)
    ns = find_ns(host, args)
    mine = _ours(host, ns, family, priority) if ns is not None else []
    if ns is None or not mine:
        return None
    return {**mine[0], "owner": owner_view(_mark(host, ns, family, priority))}


def rule_list(host: Host, args: Args) -> Any:
    ns = require_ns(host, args)
    return [_view(r) for family in (4, 6) for r in ns.rules if r["family"] == family]


def annotated(host: Host, ns: Netns) -> list[dict[str, Any]]:
    """Every rule, with ``ours`` and the owner of hostnet's."""
    found = []
    for family in (4, 6):
        for rule in ns.rules:
            if rule["family"] != family:
                continue
            seen = _view(rule)
            ours = seen in _ours(host, ns, family, seen["priority"])
            owner = owner_view(_mark(host, ns, family, seen["priority"])) if ours else None
            found.append({**seen, "owner": owner, "ours": ours})
    return found


def rule_delete(host: Host, args: Args) -> Any:
    family, priority = args.integer("family", default=4, lo=4, hi=6), _priority(args)
    claim = args.claim()
    ns = find_ns(host, args)
    if ns is None:
        return {"deleted": False}
    record = _record(host, ns, family, priority)
    mine = _ours(host, ns, family, priority)
    if not mine:
        host.records.pop(record, None)
        return {"deleted": False}
    mark = _mark(host, ns, family, priority, claim)
    if not claim.mine(parse_mark(mark)):
        return {"deleted": False, "kept": claim.kept(mark)}
    for rule in mine:
        _remove(ns, rule)
    host.records.pop(record, None)
    return {"deleted": True}
