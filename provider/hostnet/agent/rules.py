"""Policy routing rule ops (``ip rule``).

A rule is named by (family, priority). hostnet's rules carry protocol 77 (the
rule's FRA_PROTOCOL, Linux 4.17 and later), and their owner (owner.py) in a
record (records.py, kind ``rules``, key ``<family>-<priority>``) with the rule's
selectors and action, since a rule has no room for a mark. On an older kernel,
which keeps no protocol on rules, hostnet's rules must lie in the priority band
1000-1999: a rule there that matches its record is hostnet's.
Rules 0, 32766 and 32767 (the kernel's local, main and default lookups) and rules
of other protocols are never added to, changed or deleted. Several rules may
share a priority; the kernel keeps them in the order they were added.

RULE = {priority, family (4|6), src, dst (``ip rule`` from, to), iif, oif, fwmark, fwmask, tos,
action (table|unreachable|prohibit|blackhole), table, protocol}
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import socket
from typing import Any

from . import rtroute, select
from .args import Args
from .context import Context, Net
from .errors import Exists, Invalid, NotFound
from .nsref import Netns
from .owner import MARK_PREFIX, Claim, owner_view, parse_mark
from .records import load, record_path, remove, save

RTPROT_HOSTNET = 77
RESERVED = (0, 32766, 32767)
BAND = (1000, 1999)  # hostnet's priorities on kernels without a rule protocol
ACTIONS = {"table": 1, "blackhole": 6, "unreachable": 7, "prohibit": 8}
_ACTION_NAMES = {v: k for k, v in ACTIONS.items()}
_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
_SELECTORS = ("src", "dst", "iif", "oif", "fwmark", "fwmask", "tos")


def protocol_supported() -> bool:
    """Rules keep a protocol from Linux 4.17 on."""
    found = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return found is None or (int(found[1]), int(found[2])) >= (4, 17)


def _priority(args: Args) -> int:
    priority = args.integer("priority", lo=1, hi=32765)
    if priority in RESERVED:
        raise Invalid(f"{args.op}: priority {priority} is one of the kernel's own rules")
    return priority


def _network(args: Args, key: str) -> str | None:
    text = args.opt_text(key)
    if text is None:
        return None
    try:
        return str(ipaddress.ip_network(text))
    except ValueError:
        raise Invalid(f"{args.op}: {key} {text!r} is not a network") from None


def wanted(args: Args) -> dict[str, Any]:
    """The rule an op asks for, as a RULE view (protocol left out)."""
    action = args.opt_text("action") or "table"
    if action not in ACTIONS:
        raise Invalid(f"{args.op}: action must be one of {sorted(ACTIONS)}")
    table = args.opt_integer("table", lo=1)
    if (action == "table") != (table is not None):
        raise Invalid(f"{args.op}: a table is required with action 'table' and only with it")
    src, dst = _network(args, "src"), _network(args, "dst")
    rule: dict[str, Any] = {
        "priority": _priority(args),
        "src": src,
        "dst": dst,
        "iif": args.opt_ifname("iif"),
        "oif": args.opt_ifname("oif"),
        "fwmark": args.opt_integer("fwmark"),
        "fwmask": args.opt_integer("fwmask"),
        "tos": args.opt_integer("tos", hi=255) or None,  # 0: no selector
        "action": action,
        "table": table,
    }
    versions = {ipaddress.ip_network(n).version for n in (src, dst) if n is not None}
    family = args.opt_integer("family", lo=4, hi=6) or (versions.pop() if versions else 4)
    if family not in _FAMILY or versions - {family}:
        raise Invalid(f"{args.op}: src and dst must be of one family (4 or 6)")
    rule["family"] = family
    return rule


def view(msg: Any) -> dict[str, Any]:
    family = 6 if msg["family"] == socket.AF_INET6 else 4

    def net(attr: str, length: int) -> str | None:
        value = msg.get(attr)
        return None if value is None else str(ipaddress.ip_network(f"{value}/{length}"))

    table = msg.get("FRA_TABLE") or msg["table"]
    action = _ACTION_NAMES.get(msg["action"], str(msg["action"]))
    return {
        "priority": msg.get("FRA_PRIORITY") or 0,
        "family": family,
        "src": net("FRA_SRC", msg["src_len"]),
        "dst": net("FRA_DST", msg["dst_len"]),
        "iif": msg.get("FRA_IIFNAME"),
        "oif": msg.get("FRA_OIFNAME"),
        "fwmark": msg.get("FRA_FWMARK"),
        "fwmask": msg.get("FRA_FWMASK") if msg.get("FRA_FWMARK") is not None else None,
        "tos": msg["tos"] or None,
        "action": action,
        "table": table if action == "table" else None,
        "protocol": msg.get("FRA_PROTOCOL"),
    }


def _same(found: dict[str, Any], want: dict[str, Any]) -> bool:
    return select.rule_same(found, want)


def list_rules(net: Net, family: int | None = None) -> list[dict[str, Any]]:
    families = [family] if family else [4, 6]
    return [view(msg) for f in families for msg in rtroute.rule_dump(net.rt, family=_FAMILY[f])]


# -- ownership ----------------------------------------------------------------


def _record_path(ns: Netns, family: int, priority: int) -> str | None:
    return record_path(ns, kind="rules", key=f"{family}-{priority}")


def ours(net: Net, family: int, priority: int) -> list[dict[str, Any]]:
    """hostnet's rules at one priority: by protocol, or by record on old kernels."""
    at = [r for r in list_rules(net, family) if r["priority"] == priority]
    return _ours_of(net, at, family, priority)


def _ours_of(
    net: Net, at: list[dict[str, Any]], family: int, priority: int
) -> list[dict[str, Any]]:
    if protocol_supported():
        return [r for r in at if r["protocol"] == RTPROT_HOSTNET]
    record = load(_record_path(net.ns, family, priority))
    spec = record.get("rule") if record is not None else None
    return [r for r in at if isinstance(spec, dict) and _same(r, spec)]


def _mark(net: Net, family: int, priority: int, claim: Claim | None = None) -> str:
    """The mark hostnet's rule at this priority carries: its record's owner; a
    rule without a record (made before instance ownership) is the legacy id's."""
    record = load(_record_path(net.ns, family, priority))
    if record is not None:
        return MARK_PREFIX + str(record.get("owner") or "")
    legacy = claim.legacy if claim is not None else None
    return MARK_PREFIX + (legacy or "")


def _with_owner(rule: dict[str, Any], mark: str) -> dict[str, Any]:
    return {**rule, "owner": owner_view(mark)}


# -- ops ----------------------------------------------------------------------


def _spec(rule: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "family": _FAMILY[rule["family"]],
        "priority": rule["priority"],
        "action": ACTIONS[rule["action"]],
    }
    if rule["table"] is not None:
        spec["table"] = rule["table"]
    for key in ("src", "dst"):
        if rule[key] is not None:
            network = ipaddress.ip_network(rule[key])
            spec[key], spec[f"{key}_len"] = str(network.network_address), network.prefixlen
    for key, attr in (("iif", "iifname"), ("oif", "oifname"), ("fwmark", "fwmark"), ("tos", "tos")):
        if rule[key] is not None:
            spec[attr] = rule[key]
    if rule["fwmark"] is not None:
        spec["fwmask"] = rule["fwmask"] if rule["fwmask"] is not None else 0xFFFFFFFF
    if protocol_supported():
        spec["protocol"] = RTPROT_HOSTNET
    return spec


def _label(rule: dict[str, Any]) -> str:
    return f"rule {rule['priority']} (IPv{rule['family']})"


def _delete(net: Net, rule: dict[str, Any]) -> bool:
    spec = _spec(rule)
    if rule.get("protocol") is not None:
        spec["protocol"] = rule["protocol"]
    try:
        rtroute.rule(net.rt, "del", spec)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ESRCH):
            return False
        raise
    return True


def rule_ensure(ctx: Context, args: Args) -> Any:
    want, claim = wanted(args), args.claim()
    ns = ctx.netns(args.ref())
    net = ctx.net_at(ns)
    if not protocol_supported() and not BAND[0] <= want["priority"] <= BAND[1]:
        raise Invalid(
            f"{args.op}: this kernel keeps no protocol on rules; hostnet's rules must use "
            f"priorities {BAND[0]}-{BAND[1]}"
        )
    path = _record_path(ns, want["family"], want["priority"])
    if path is None:
        raise NotFound("the rule's namespace is gone")
    mine = ours(net, want["family"], want["priority"])
    if mine:
        claim.check(_mark(net, want["family"], want["priority"], claim), what=_label(want))
    same = [r for r in mine if _same(r, want)]
    at = [r for r in list_rules(net, want["family"]) if r["priority"] == want["priority"]]
    if not same and any(_same(r, want) for r in at):
        # A twin under another protocol would leave two owners for one rule.
        raise Exists(f"{_label(want)} exists as the same rule, not hostnet's")
    save(path, {"owner": claim.me.body(), "rule": want})
    if not same:
        try:
            rtroute.rule(net.rt, "add", _spec(want))
        except OSError as exc:
            if not mine:
                remove(path)
            if exc.errno == errno.EEXIST:
                raise Exists(f"{_label(want)} exists as the same rule, not hostnet's") from None
            raise
    # An update: the rule as it was goes once the new one is in place.
    for old in mine:
        if not _same(old, want):
            _delete(net, old)
    now = [r for r in ours(net, want["family"], want["priority"]) if _same(r, want)]
    if not now:
        raise NotFound(f"{_label(want)} vanished right after being written")
    return {**_with_owner(now[0], claim.me.mark()), "created": not mine}


def rule_read(ctx: Context, args: Args) -> Any:
    family, priority = args.integer("family", default=4, lo=4, hi=6), _priority(args)
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    net = ctx.net_at(ns)
    at = [r for r in list_rules(net, family) if r["priority"] == priority]
    return select.rule_read({"ip_rules": annotated(net, at)}, family=family, priority=priority)


def rule_list(ctx: Context, args: Args) -> Any:
    return select.rule_list({"ip_rules": list_rules(ctx.net(args.ref()))})


def annotated(net: Net, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RULEs with ``ours`` (hostnet's, as ``ours`` tells) and the owner of
    hostnet's (a snapshot's rules)."""
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for rule in rules:
        groups.setdefault((rule["family"], rule["priority"]), []).append(rule)
    owners: dict[int, dict[str, Any] | None] = {}
    for (family, priority), at in groups.items():
        mine = _ours_of(net, at, family, priority)
        owner = owner_view(_mark(net, family, priority)) if mine else None
        owners.update((id(rule), owner) for rule in mine)
    return [{**rule, "owner": owners.get(id(rule)), "ours": id(rule) in owners} for rule in rules]


def rule_delete(ctx: Context, args: Args) -> Any:
    family, priority = args.integer("family", default=4, lo=4, hi=6), _priority(args)
    claim = args.claim()
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"deleted": False}
    net = ctx.net_at(ns)
    path = _record_path(ns, family, priority)
    mine = ours(net, family, priority)
    if not mine:
        remove(path)
        return {"deleted": False}
    mark = _mark(net, family, priority, claim)
    if not claim.mine(parse_mark(mark)):
        return {"deleted": False, "kept": claim.kept(mark)}
    deleted = False
    for rule in mine:
        deleted = _delete(net, rule) or deleted
    remove(path)
    return {"deleted": deleted}
