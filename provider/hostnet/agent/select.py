"""What each read op answers, as a pure function of what was read from the host.

A read op on the agent reads the kernel as cheaply as it can (one link, one
route), puts what it found in the shape of a SNAPSHOT and answers through the
function here; the controller answers the same op from a whole namespace's
``snapshot`` through the same function. One implementation of every answer, so
a read served from a snapshot is the read the agent would have made.

SNAPSHOT (the ``snapshot`` op's result; parts present only when asked for):
  "net":   {"links": [LINK], "routes": [ROUTE + owner] (all tables but local),
            "ip_rules": [RULE + owner + ours], "fdb": {ifname: [FDB]} (vxlan links)}
  "extra": {"iptables": {table: {"chains": [name], "rules": [IPT_RULE]}} | null
            (null: no iptables on the host), "sysctl": {key: value|null},
            "sysctl_owners": {key: OWNER} (keys with a record), "netns": [{name, owner}]
            | null (the agent's own namespace only)}
IPT_RULE = {"chain", "tokens" (as saved, comment included), "rule" (without hostnet's
comment), "owner": OWNER|null, "position" (1-based in its chain)}

Stdlib only, importable by the controller and by Python 3.6 on a host.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from .names import ifname_problem

if TYPE_CHECKING:  # subscripting collections.abc.Callable needs Python 3.9 at run time
    from collections.abc import Callable

TABLES = ("filter", "nat", "mangle", "raw", "security")
RT_TABLE_MAIN = 254
_DENY = ("REJECT", "DROP")
_SYSCTL_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$")
_NETNS_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,200}$")

# The part of a snapshot each op is answered from.
PART = {
    "link_read": "net",
    "link_list": "net",
    "route_read": "net",
    "route_list": "net",
    "rule_read": "net",
    "rule_list": "net",
    "fdb_list": "net",
    "netns_read": "extra",
    "netns_list": "extra",
    "sysctl_read": "extra",
    "sysctl_read_owned": "extra",
    "ipt_read_rules": "extra",
    "ipt_read_chain": "extra",
}


class Miss(Exception):
    """The snapshot cannot give the op's answer: ask the host."""


# -- checks shared with the agent's argument parsing ------------------------------


def chain_problem(chain: str, *, own: bool = False) -> str:
    """Why ``chain`` is not a chain name hostnet takes; "" when it is."""
    ok = (
        0 < len(chain) <= 28
        and chain[0] not in "-!"
        and all(c.isalnum() or c in "_.+-" for c in chain)
    )
    if not ok:
        return f"bad iptables chain name {chain!r}"
    if own and not chain.startswith("HOSTNET"):
        return f"chain {chain!r}: hostnet only manages chains named HOSTNET*"
    return ""


def sysctl_key_ok(key: str) -> bool:
    return bool(_SYSCTL_KEY.match(key)) and ".." not in key and not key.endswith(".")


def netns_name_ok(name: str) -> bool:
    return bool(_NETNS_NAME.match(name)) and name not in (".", "..")


def route_identity(
    *, dst: str, family: int | None, hints: list[str], table: int, metric: int | None
) -> tuple[int, str | None, int, int, int]:
    """(family, dst address|None, dst_len, table, metric) of a route; ValueError
    says what is wrong. ``hints``: via and src, whose family a default route takes."""
    if dst == "default":
        for hint in hints:
            family = ipaddress.ip_address(hint).version
        family = family or 4
        if family not in (4, 6):
            raise ValueError("family must be 4 or 6")
        address, length = None, 0
    else:
        try:
            network = ipaddress.ip_network(dst)
        except ValueError:
            raise ValueError(f"dst {dst!r} is not 'default' or a network") from None
        family, address, length = network.version, str(network.network_address), network.prefixlen
        if length == 0:
            address = None  # 0.0.0.0/0 and ::/0 are the default route
    if metric is None:
        metric = 1024 if family == 6 else 0
    return family, address, length, table, metric


def route_is(route: dict[str, Any], key: tuple[int, str | None, int, int, int]) -> bool:
    family, address, length, table, metric = key
    dst = "default" if length == 0 else f"{address}/{length}"
    return bool(
        route["family"] == family
        and route["table"] == table
        and route["metric"] == metric
        and (route["dst"] == dst if length else route["dst"] == "default")
    )


def rule_same(found: dict[str, Any], want: dict[str, Any]) -> bool:
    """Whether a RULE is the rule ``want`` (a RULE view) asks for."""
    keys = ("src", "dst", "iif", "oif", "fwmark", "tos", "action", "table", "priority", "family")
    # The kernel reports a full mask when only a mark was given.
    fwmask = want.get("fwmask") if want.get("fwmask") is not None else 0xFFFFFFFF
    if want.get("fwmark") is not None and found.get("fwmask") != fwmask:
        return False
    return all(found.get(k) == want.get(k) for k in keys)


# -- answers ----------------------------------------------------------------------


def _without(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys}


def link_read(net: dict[str, Any], *, ifname: str) -> Any:
    return next((link for link in net["links"] if link["ifname"] == ifname), None)


def link_list(net: dict[str, Any]) -> Any:
    return net["links"]


def route_read(net: dict[str, Any], *, key: tuple[int, str | None, int, int, int]) -> Any:
    return next((r for r in net["routes"] if route_is(r, key)), None)


def route_list(net: dict[str, Any], *, table: int) -> Any:
    """Routes of ``table`` (0: all but local), IPv4 first, without their owner."""
    found = [r for r in net["routes"] if (table == 0 and r["table"] != 255) or r["table"] == table]
    return [_without(r, "owner") for r in sorted(found, key=lambda r: r["family"])]


def rule_read(net: dict[str, Any], *, family: int, priority: int) -> Any:
    mine = [
        r
        for r in net["ip_rules"]
        if r["family"] == family and r["priority"] == priority and r["ours"]
    ]
    return _without(mine[0], "ours") if mine else None


def rule_list(net: dict[str, Any]) -> Any:
    return [_without(r, "owner", "ours") for r in net["ip_rules"]]


def fdb_list(net: dict[str, Any], *, ifname: str) -> Any:
    link = link_read(net, ifname=ifname)
    if link is None:
        return None
    entries = net["fdb"].get(ifname)
    if entries is None:
        raise Miss(ifname)  # not a vxlan link: its entries were not read
    return {"owner": link["owner"], "entries": entries}


def netns_read(extra: dict[str, Any], *, name: str) -> Any:
    return next((ns for ns in _netns(extra) if ns["name"] == name), None)


def netns_list(extra: dict[str, Any]) -> Any:
    return _netns(extra)


def _netns(extra: dict[str, Any]) -> list[dict[str, Any]]:
    found = extra["netns"]
    if found is None:
        raise Miss("named namespaces are listed in the agent's own namespace only")
    return list(found)


def sysctl_read(extra: dict[str, Any], *, key: str) -> Any:
    values = extra["sysctl"]
    if key not in values:
        raise Miss(key)
    return values[key]


def sysctl_read_owned(extra: dict[str, Any], *, key: str) -> Any:
    value = sysctl_read(extra, key=key)
    if value is None:
        return None
    return {"value": value, "owner": extra["sysctl_owners"].get(key)}


def _ipt_table(extra: dict[str, Any], table: str) -> dict[str, Any]:
    tables = extra["iptables"]
    if tables is None:
        raise Miss("no iptables on the host")
    return tables.get(table) or {"chains": [], "rules": []}


def ipt_read_rules(extra: dict[str, Any], *, table: str, chain: str | None) -> Any:
    return [
        {
            "table": table,
            "chain": r["chain"],
            "rule": r["rule"],
            "owner": r["owner"],
            "position": r["position"],
        }
        for r in _ipt_table(extra, table)["rules"]
        if r["owner"] is not None and (chain is None or r["chain"] == chain)
    ]


def ipt_read_chain(extra: dict[str, Any], *, table: str, chain: str, parent: str) -> Any:
    """Whether hostnet's chain exists and is reached: one jump from ``parent``, not
    behind a rule that denies all traffic (conditional ones are the host owner's)."""
    found = _ipt_table(extra, table)
    in_parent = [r for r in found["rules"] if r["chain"] == parent]
    jumps = [r for r in in_parent if r["tokens"] == ["-j", chain]]
    shadowed = bool(jumps) and any(
        r["position"] < jumps[0]["position"]
        and r["tokens"][:1] in (["-j"], ["--jump"])
        and _target(r["tokens"]) in _DENY
        for r in in_parent
    )
    return {
        "exists": chain in found["chains"],
        "jump": jumps[0]["position"] if jumps else None,
        "jumps": len(jumps),
        "shadowed": shadowed,
    }


def _target(tokens: list[str]) -> str | None:
    for i, token in enumerate(tokens[:-1]):
        if token in ("-j", "--jump"):
            return tokens[i + 1]
    return None


# -- the controller's side: an op and its wire arguments ----------------------------

# The argument names of the ops answered here (the agent's op table has the same).
KEYS = {
    "link_read": ("netns", "ifname"),
    "link_list": ("netns",),
    "route_read": ("netns", "dst", "family", "table", "metric"),
    "route_list": ("netns", "table"),
    "rule_read": ("netns", "family", "priority"),
    "rule_list": ("netns",),
    "fdb_list": ("netns", "ifname"),
    "netns_read": ("name",),
    "netns_list": (),
    "sysctl_read": ("netns", "key"),
    "sysctl_read_owned": ("netns", "key"),
    "ipt_read_rules": ("netns", "table", "chain"),
    "ipt_read_chain": ("netns", "table", "chain", "parent"),
}
# Ops that answer null in a namespace that does not exist (the others fail there).
_NULL_WHEN_GONE = (
    "link_read",
    "route_read",
    "rule_read",
    "fdb_list",
    "sysctl_read",
    "sysctl_read_owned",
    "ipt_read_rules",
    "ipt_read_chain",
)


class _Args:
    """An op's wire arguments; anything the agent would refuse is a Miss, so the
    agent itself says what is wrong."""

    def __init__(self, op: str, raw: dict[str, Any]) -> None:
        if any(key not in KEYS[op] for key in raw):
            raise Miss(f"{op}: unknown argument")
        self._raw = {k: v for k, v in raw.items() if v is not None}

    def text(self, key: str, *, required: bool = True) -> Any:
        value = self._raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value or "\n" in value or "\0" in value:
            raise Miss(key)
        return value

    def integer(self, key: str, *, default: int | None, lo: int = 0, hi: int = 2**32 - 1) -> Any:
        value = self._raw.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise Miss(key)
        return value

    def ifname(self) -> str:
        value = self.text("ifname")
        if ifname_problem(value):
            raise Miss("ifname")
        return str(value)

    def chain(self, key: str, *, own: bool, required: bool = True) -> Any:
        value = self.text(key, required=required)
        if value is not None and chain_problem(value, own=own):
            raise Miss(key)
        return value


def _route_key(args: _Args) -> tuple[int, str | None, int, int, int]:
    try:
        return route_identity(
            dst=args.text("dst"),
            family=args.integer("family", default=None, lo=4, hi=6),
            hints=[],
            table=args.integer("table", default=RT_TABLE_MAIN, lo=1),
            metric=args.integer("metric", default=None),
        )
    except ValueError:
        raise Miss("dst") from None


def _ipt(args: _Args, *, chain_own: bool) -> dict[str, Any]:
    table = args.text("table")
    if table not in TABLES:
        raise Miss("table")
    return {"table": table, "chain": args.chain("chain", own=chain_own, required=chain_own)}


def _rule_key(args: _Args) -> dict[str, Any]:
    family = args.integer("family", default=4, lo=4, hi=6)
    priority = args.integer("priority", default=None, lo=1, hi=32765)
    if family == 5 or priority is None:
        raise Miss("family or priority")
    return {"family": family, "priority": priority}


def _netns_name(args: _Args) -> dict[str, Any]:
    name = args.text("name")
    if not netns_name_ok(name):
        raise Miss("name")
    return {"name": name}


def _sysctl_key(args: _Args) -> dict[str, Any]:
    key = args.text("key")
    if not sysctl_key_ok(key):
        raise Miss("key")
    return {"key": key}


def _ipt_chain(args: _Args) -> dict[str, Any]:
    return {**_ipt(args, chain_own=True), "parent": args.chain("parent", own=False)}


# Each op's arguments as its answer function takes them.
_CHECKS: dict[str, Callable[[_Args], dict[str, Any]]] = {
    "link_read": lambda args: {"ifname": args.ifname()},
    "fdb_list": lambda args: {"ifname": args.ifname()},
    "route_read": lambda args: {"key": _route_key(args)},
    "route_list": lambda args: {"table": args.integer("table", default=RT_TABLE_MAIN)},
    "rule_read": _rule_key,
    "netns_read": _netns_name,
    "sysctl_read": _sysctl_key,
    "sysctl_read_owned": _sysctl_key,
    "ipt_read_rules": lambda args: _ipt(args, chain_own=False),
    "ipt_read_chain": _ipt_chain,
}


_ANSWERS: dict[str, Callable[..., Any]] = {
    "link_read": link_read,
    "link_list": link_list,
    "route_read": route_read,
    "route_list": route_list,
    "rule_read": rule_read,
    "rule_list": rule_list,
    "fdb_list": fdb_list,
    "netns_read": netns_read,
    "netns_list": netns_list,
    "sysctl_read": sysctl_read,
    "sysctl_read_owned": sysctl_read_owned,
    "ipt_read_rules": ipt_read_rules,
    "ipt_read_chain": ipt_read_chain,
}


def answer(snapshot: dict[str, Any] | None, op: str, args: dict[str, Any]) -> Any:
    """What ``op`` with wire ``args`` answers, from the snapshot of its namespace
    (None: the namespace does not exist); Miss when the snapshot cannot tell."""
    if op not in _ANSWERS:
        raise Miss(op)
    args_of = _CHECKS.get(op)
    checked = {} if args_of is None else args_of(_Args(op, args))
    if snapshot is None:
        if op in _NULL_WHEN_GONE:
            return None
        raise Miss("the namespace does not exist")
    part = snapshot.get(PART[op])
    if part is None:
        raise Miss(f"no {PART[op]} part")
    return _ANSWERS[op](part, **checked)
