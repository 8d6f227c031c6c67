"""Route ops. hostnet's routes carry protocol 77, and their owner (owner.py) in a
record (records.py), since a route has no room for a mark; a route is identified
by (family, dst, table, metric), metric defaulting to the kernel's (0 for IPv4,
1024 for IPv6).

ROUTE = {dst ("default" or cidr), family (4|6), via, dev, src, metric, table,
proto, scope, type, onlink}
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from . import rtroute, select
from .args import Args
from .context import Context, Net
from .errors import Exists, Invalid, NotFound
from .nsref import Netns
from .owner import MARK_PREFIX, Claim, owner_view, parse_mark
from .records import load, record_path, remove, save

RTPROT_HOSTNET = 77
RT_TABLE_MAIN = 254
RTNH_F_ONLINK = 4
RTM_F_FIB_MATCH = 0x2000
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
_SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
          6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}  # fmt: skip
_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}


@dataclass(frozen=True)
class Key:
    """What names one route: family, destination, table, metric."""

    family: int
    dst: str | None
    dst_len: int
    table: int
    metric: int

    @property
    def identity(self) -> tuple[int, str | None, int, int, int]:
        return self.family, self.dst, self.dst_len, self.table, self.metric

    @property
    def label(self) -> str:
        dst = "default" if self.dst_len == 0 else f"{self.dst}/{self.dst_len}"
        return f"{dst} table {self.table} metric {self.metric}"

    def record(self, ns: Netns, *, dst: str | None = None) -> str | None:
        name = dst or self.dst or "default"
        key = f"{self.family}-{name}-{self.dst_len}-{self.table}-{self.metric}"
        return record_path(ns, kind="routes", key=key.replace(":", "_"))

    def records(self, ns: Netns) -> list[str | None]:
        """Where the owner is written, then where older agents wrote it: a default
        route named 0.0.0.0/0 or ::/0 had a record of that name."""
        if self.dst_len:
            return [self.record(ns)]
        return [self.record(ns), self.record(ns, dst=_zero(self.family))]


def _zero(family: int) -> str:
    return str(ipaddress.IPv6Address(0) if family == 6 else ipaddress.IPv4Address(0))


def _load(key: Key, ns: Netns) -> dict[str, Any] | None:
    for path in key.records(ns):
        record = load(path)
        if record is not None:
            return record
    return None


def _found_mark(msg: Any, key: Key, ns: Netns, claim: Claim | None = None) -> str | None:
    """The mark a route carries: its record's owner; a hostnet route without a
    record (made before instance ownership) counts as the legacy id asking."""
    if msg["proto"] != RTPROT_HOSTNET:
        return None
    record = _load(key, ns)
    if record is not None:
        return MARK_PREFIX + str(record.get("owner") or "")
    legacy = claim.legacy if claim is not None else None
    return MARK_PREFIX + (legacy or "")


def route_key(args: Args) -> Key:
    hints = [args.address(hint) for hint in ("via", "src") if args.has(hint)]
    try:
        identity = select.route_identity(
            dst=args.text("dst"),
            family=args.opt_integer("family", lo=4, hi=6),
            hints=hints,
            table=args.integer("table", default=RT_TABLE_MAIN, lo=1),
            metric=args.opt_integer("metric"),
        )
    except ValueError as exc:
        raise Invalid(f"{args.op}: {exc}") from None
    return Key(*identity)


def _table(msg: Any) -> int:
    return int(msg.get("RTA_TABLE") or msg["table"])


def dump(net: Net, **query: Any) -> list[Any]:
    """The kernel's route dump; a table that does not exist yet has no routes
    (a kernel filtering by table answers ENOENT for it)."""
    try:
        return rtroute.route_dump(net.rt, **query)
    except OSError as exc:
        if exc.errno == errno.ENOENT and query.get("table"):
            return []
        raise


def _is(msg: Any, key: Key) -> bool:
    return bool(
        msg["dst_len"] == key.dst_len
        and _table(msg) == key.table
        and (msg.get("RTA_PRIORITY") or 0) == key.metric
        and (key.dst_len == 0 or msg.get("RTA_DST") == key.dst)
    )


def _fib_entry(net: Net, key: Key) -> Any | None:
    """The route itself in one request, however big the table: the FIB entry the
    kernel picks for the key's network (RTM_F_FIB_MATCH, Linux 4.13), if that entry
    is the key's. None: absent, or hidden by a more specific route or a lower
    metric, or a kernel without it (then the caller dumps)."""
    if key.table != RT_TABLE_MAIN:
        return None  # a lookup honours the policy rules, not a table of our choosing
    try:
        family, dst = _FAMILY[key.family], key.dst or _zero(key.family)
        found = rtroute.route_get(net.rt, family=family, dst=dst, flags=RTM_F_FIB_MATCH)
    except OSError:
        return None  # no route at all, or no fibmatch
    msg = next(iter(found), None)
    return msg if msg is not None and _is(msg, key) else None


def _dump_find(net: Net, key: Key) -> Any | None:
    """The route by a dump of its table (the kernel filters by table where strict
    checking is on)."""
    for msg in dump(net, family=_FAMILY[key.family], table=key.table):
        if _is(msg, key):
            return msg
    return None


def find(net: Net, key: Key) -> Any | None:
    return _fib_entry(net, key) or _dump_find(net, key)


def view(msg: Any, names: dict[int, str]) -> dict[str, Any]:
    oif = msg.get("RTA_OIF")
    dst = msg.get("RTA_DST")
    return {
        "dst": "default" if msg["dst_len"] == 0 else f"{dst}/{msg['dst_len']}",
        "family": 6 if msg["family"] == socket.AF_INET6 else 4,
        "via": msg.get("RTA_GATEWAY"),
        "dev": names.get(oif, str(oif)) if oif else None,
        "src": msg.get("RTA_PREFSRC"),
        "metric": msg.get("RTA_PRIORITY") or 0,
        "table": _table(msg),
        "proto": msg["proto"],
        "scope": _SCOPE_NAMES.get(msg["scope"], str(msg["scope"])),
        "type": _TYPES.get(msg["type"], str(msg["type"])),
        "onlink": bool(msg["flags"] & RTNH_F_ONLINK),
    }


def view_one(net: Net, msg: Any, *, owner: str | None) -> dict[str, Any]:
    """One route, with the owner its mark names (None: not hostnet's)."""
    oif = msg.get("RTA_OIF")
    names: dict[int, str] = {}
    if oif:
        link = net.rt.get(index=oif)
        if link is not None and link.ifname is not None:
            names[oif] = link.ifname
    return {**view(msg, names), "owner": owner_view(owner)}


def _wanted(net: Net, args: Args, key: Key) -> dict[str, Any]:
    """The nexthop part of the request; scope defaults as `ip route` does."""
    via, src, dev = args.opt_address("via"), args.opt_address("src"), args.opt_ifname("dev")
    scope_arg = args.raw("scope")
    if scope_arg is None:
        scope = 253 if via is None and dev is not None and key.family == 4 else 0
    elif isinstance(scope_arg, str) and scope_arg in SCOPES:
        scope = SCOPES[scope_arg]
    elif isinstance(scope_arg, int) and not isinstance(scope_arg, bool) and 0 <= scope_arg < 256:
        scope = scope_arg
    else:
        raise Invalid(f"{args.op}: scope must be one of {sorted(SCOPES)} or 0..255")
    want: dict[str, Any] = {"gateway": via, "prefsrc": src, "scope": scope, "oif": None}
    if dev is not None:
        link = net.rt.get(ifname=dev)
        if link is None:
            raise NotFound(f"dev {dev} does not exist")
        want["oif"] = link.index
    want["flags"] = RTNH_F_ONLINK if args.flag("onlink", default=False) else 0
    return want


def _matches(msg: Any, want: dict[str, Any]) -> bool:
    return (
        msg.get("RTA_GATEWAY") == want["gateway"]
        and msg.get("RTA_PREFSRC") == want["prefsrc"]
        and msg["scope"] == want["scope"]
        and (want["oif"] is None or msg.get("RTA_OIF") == want["oif"])
        and bool(msg["flags"] & RTNH_F_ONLINK) == bool(want["flags"])
        and msg["type"] == 1
    )


def _spec(key: Key, want: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "family": _FAMILY[key.family],
        "dst_len": key.dst_len,
        "table": key.table,
        "priority": key.metric,
        "proto": RTPROT_HOSTNET,
        "scope": want["scope"],
        "type": 1,
        "flags": want["flags"],
    }
    if key.dst is not None:
        spec["dst"] = key.dst
    spec.update({k: want[k] for k in ("gateway", "prefsrc", "oif") if want[k] is not None})
    return spec


def route_ensure(ctx: Context, args: Args) -> Any:
    key, claim = route_key(args), args.claim()
    ns = ctx.netns(args.ref())
    net = ctx.net_at(ns)
    want = _wanted(net, args, key)
    path = key.record(ns)
    found = _fib_entry(net, key)
    if found is None:
        # Most ensures make a new route: `add` refuses one that exists, so the
        # table is read only when it does.
        if _write(net, "add", key, want):
            try:
                _save_owner(path, claim)
            except Exception:
                rtroute.route(net.rt, "del", _spec(key, want))
                raise
            return _written(net, key, claim, created=True)
        found = _dump_find(net, key)
        if found is None:
            raise Exists(f"route {key.label} conflicts with an existing route")
    mark = _found_mark(found, key, ns, claim)
    what = f"route {key.label}" + ("" if mark else f" (protocol {found['proto']})")
    if claim.check(mark, what=what) or load(path) is None:
        _save_owner(path, claim)
        for older in key.records(ns)[1:]:
            remove(older)
    if _matches(found, want):
        return {**view_one(net, found, owner=claim.me.mark()), "created": False}
    _write(net, "replace", key, want)
    return _written(net, key, claim, created=False)


def _write(net: Net, command: str, key: Key, want: dict[str, Any]) -> bool:
    """Add or replace; False when an add finds the route there already."""
    try:
        rtroute.route(net.rt, command, _spec(key, want))
    except OSError as exc:
        if exc.errno == errno.EEXIST and command == "add":
            return False
        if exc.errno == errno.EEXIST:
            raise Exists(f"route {key.label} conflicts with an existing route") from None
        raise
    return True


def _written(net: Net, key: Key, claim: Claim, *, created: bool) -> dict[str, Any]:
    now = find(net, key)
    if now is None:
        raise NotFound(f"route {key.label} vanished right after being written")
    return {**view_one(net, now, owner=claim.me.mark()), "created": created}


def _save_owner(path: str | None, claim: Claim) -> None:
    if path is None:
        raise NotFound("the route's namespace is gone")
    save(path, {"owner": claim.me.body()})


def route_read(ctx: Context, args: Args) -> Any:
    key = route_key(args)
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    net = ctx.net_at(ns)
    found = find(net, key)
    routes = [] if found is None else [view_one(net, found, owner=_found_mark(found, key, ns))]
    return select.route_read({"routes": routes}, key=key.identity)


def route_get(ctx: Context, args: Args) -> Any:
    """The route the kernel would use to reach ``dst`` (an address): one lookup, not
    a dump. Null when nothing reaches it."""
    dst = args.address("dst")
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    net = ctx.net_at(ns)
    family = _FAMILY[ipaddress.ip_address(dst).version]
    try:
        found = rtroute.route_get(net.rt, family=family, dst=dst, flags=RTM_F_FIB_MATCH)
    except OSError:
        return None
    msg = next(iter(found), None)
    return None if msg is None else view_one(net, msg, owner=None)


def route_list(ctx: Context, args: Args) -> Any:
    table = args.integer("table", default=RT_TABLE_MAIN, lo=0)
    return select.route_list({"routes": list_routes(ctx.net(args.ref()), table=table)}, table=table)


def owned_routes(net: Net) -> list[dict[str, Any]]:
    """Every route but the local table's, each with the owner of its record (a
    snapshot's routes)."""
    found = list_routes(net, table=0)
    for route in found:
        route["owner"] = None
        if route["proto"] == RTPROT_HOSTNET:
            length = 0 if route["dst"] == "default" else int(route["dst"].rsplit("/", 1)[1])
            address = None if length == 0 else route["dst"].rsplit("/", 1)[0]
            key = Key(route["family"], address, length, route["table"], route["metric"])
            route["owner"] = owner_view(_found_mark(route, key, net.ns))
    return found


def list_routes(net: Net, *, table: int) -> list[dict[str, Any]]:
    """Routes of both families in ``table`` (0: every table but local)."""
    names = {m.index: m.ifname for m in net.rt.dump() if m.ifname is not None}
    found = []
    for family in (socket.AF_INET, socket.AF_INET6):
        query: dict[str, Any] = {"family": family}
        if table:
            query["table"] = table
        for msg in dump(net, **query):
            if (table and _table(msg) != table) or (not table and _table(msg) == 255):
                continue
            found.append(view(msg, names))
    return found


def route_delete(ctx: Context, args: Args) -> Any:
    key, claim = route_key(args), args.claim()
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"deleted": False}
    net = ctx.net_at(ns)
    found = find(net, key)
    if found is None:
        for path in key.records(ns):
            remove(path)
        return {"deleted": False}
    mark = _found_mark(found, key, ns, claim)
    if not claim.mine(parse_mark(mark)):
        return {"deleted": False, "kept": claim.kept(mark)}
    spec: dict[str, Any] = {
        "family": found["family"],
        "dst_len": key.dst_len,
        "table": key.table,
        "priority": key.metric,
        "tos": found["tos"],
        "proto": found["proto"],
        # The kernel matches scope exactly unless it is "nowhere".
        "scope": found["scope"],
        "type": found["type"],
    }
    if key.dst is not None:
        spec["dst"] = key.dst
    for attr, name in (("RTA_GATEWAY", "gateway"), ("RTA_OIF", "oif")):
        if found.get(attr) is not None:
            spec[name] = found.get(attr)
    try:
        rtroute.route(net.rt, "del", spec)
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return {"deleted": False}
        raise
    for path in key.records(ns):
        remove(path)
    return {"deleted": True}
