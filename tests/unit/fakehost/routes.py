"""Route ops on the model, as hostnet.agent.routes does them: protocol 77 and an
owner record (kind ``routes``) per route, routes named by (family, dst, table, metric).

The kernel's part: a gateway must be reachable through a connected route unless
``onlink`` (else ENETUNREACH), the device is the one that reaches it, a source
must be an address of the namespace (else EINVAL).
"""

from __future__ import annotations

import errno
import ipaddress
from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import Exists, NotFound
from hostnet.agent.owner import MARK_PREFIX, Claim, owner_view, parse_mark
from hostnet.agent.routes import RT_TABLE_MAIN, RTPROT_HOSTNET, SCOPES, Key, route_key

from .common import find_ns, kernel_error, require_ns
from .model import Host, Netns, Route

_SCOPE_NAMES = {v: k for k, v in SCOPES.items() if k != "universe"}
_TYPES = {1: "unicast", 2: "local", 6: "blackhole", 7: "unreachable", 8: "prohibit"}


def _record(host: Host, ns: Netns, key: Key) -> tuple[str, str, str]:
    text = f"{key.family}-{key.dst or 'default'}-{key.dst_len}-{key.table}-{key.metric}"
    return host.record_key(ns, "routes", text.replace(":", "_"))


def _find(host: Host, ns: Netns, key: Key) -> Route | None:
    wanted = (key.family, key.dst, key.dst_len, key.table, key.metric)
    return next((r for r in host.routes(ns) if r.key() == wanted), None)


def _mark(host: Host, ns: Netns, key: Key, route: Route, claim: Claim | None = None) -> str | None:
    """routes._found_mark: the record's owner; a record-less hostnet route is the legacy id's."""
    if route.proto != RTPROT_HOSTNET:
        return None
    record = host.records.get(_record(host, ns, key))
    if record is not None:
        return MARK_PREFIX + str(record.get("owner") or "")
    return MARK_PREFIX + ((claim.legacy if claim is not None else None) or "")


def view(ns: Netns, route: Route) -> dict[str, Any]:
    return {
        "dst": "default" if route.dst_len == 0 else f"{route.dst}/{route.dst_len}",
        "family": route.family,
        "via": route.via,
        "dev": ns.name_of(route.oif),
        "src": route.src,
        "metric": route.metric,
        "table": route.table,
        "proto": route.proto,
        "scope": _SCOPE_NAMES.get(route.scope, str(route.scope)),
        "type": _TYPES.get(route.type, str(route.type)),
        "onlink": route.onlink,
    }


def lookup(host: Host, ns: Netns, address: str) -> Route | None:
    """The main table's longest match for ``address`` (lowest metric among equals)."""
    ip = ipaddress.ip_address(address)
    found = [
        r
        for r in host.routes(ns)
        if r.table == RT_TABLE_MAIN and r.family == ip.version and ip in r.network()
    ]
    return min(found, key=lambda r: (-r.dst_len, r.metric), default=None)


def _wanted(host: Host, ns: Netns, args: Args, key: Key) -> Route:
    via, src, dev = args.opt_address("via"), args.opt_address("src"), args.opt_ifname("dev")
    scope_arg = args.raw("scope")
    if scope_arg is None:
        scope = 253 if via is None and dev is not None and key.family == 4 else 0
    else:
        scope = SCOPES[scope_arg] if isinstance(scope_arg, str) else int(scope_arg)
    oif = None
    if dev is not None:
        link = ns.link(dev)
        if link is None:
            raise NotFound(f"dev {dev} does not exist")
        oif = link.ifindex
    onlink = args.flag("onlink", default=False)
    if via is not None and not onlink:
        gateway = lookup(host, ns, via)
        if gateway is None or gateway.via is not None or (oif and gateway.oif != oif):
            raise kernel_error(errno.ENETUNREACH, "route_ensure", "Nexthop has invalid gateway")
        oif = oif or gateway.oif
    if via is None and oif is None:
        raise kernel_error(errno.EINVAL, "route_ensure")
    local = {a.split("/")[0] for link in ns.links.values() for a in link.addresses}
    if src is not None and src not in local:
        raise kernel_error(errno.EINVAL, "route_ensure", "Invalid prefsrc address")
    return Route(
        family=key.family,
        dst=key.dst,
        dst_len=key.dst_len,
        table=key.table,
        metric=key.metric,
        via=via,
        oif=oif,
        src=src,
        proto=RTPROT_HOSTNET,
        scope=scope,
        onlink=onlink,
    )


def _matches(found: Route, want: Route) -> bool:
    return (
        found.via == want.via
        and found.src == want.src
        and found.scope == want.scope
        and found.oif == want.oif
        and found.onlink == want.onlink
        and found.type == 1
    )


def route_ensure(host: Host, args: Args) -> Any:
    key, claim = route_key(args), args.claim()
    ns = require_ns(host, args)
    want = _wanted(host, ns, args, key)
    record = _record(host, ns, key)
    found = _find(host, ns, key)
    if found is None:
        ns.routes.append(want)
        host.records[record] = {"owner": claim.me.body()}
        return {**_view_owned(ns, want, claim.me.mark()), "created": True}
    mark = _mark(host, ns, key, found, claim)
    what = f"route {key.label}" + ("" if mark else f" (protocol {found.proto})")
    if claim.check(mark, what=what) or record not in host.records:
        host.records[record] = {"owner": claim.me.body()}
    if _matches(found, want):
        return {**_view_owned(ns, found, claim.me.mark()), "created": False}
    if found not in ns.routes:  # a route the kernel made for an address: replace refuses
        raise Exists(f"route {key.label} conflicts with an existing route")
    ns.routes[ns.routes.index(found)] = want
    return {**_view_owned(ns, want, claim.me.mark()), "created": False}


def _view_owned(ns: Netns, route: Route, mark: str | None) -> dict[str, Any]:
    return {**view(ns, route), "owner": owner_view(mark)}


def route_read(host: Host, args: Args) -> Any:
    key = route_key(args)
    ns = find_ns(host, args)
    found = _find(host, ns, key) if ns is not None else None
    if ns is None or found is None:
        return None
    return _view_owned(ns, found, _mark(host, ns, key, found))


def route_get(host: Host, args: Args) -> Any:
    dst = args.address("dst")
    ns = find_ns(host, args)
    found = lookup(host, ns, dst) if ns is not None else None
    return None if ns is None or found is None else _view_owned(ns, found, None)


def route_list(host: Host, args: Args) -> Any:
    table = args.integer("table", default=RT_TABLE_MAIN, lo=0)
    ns = require_ns(host, args)
    routes = sorted(host.routes(ns), key=lambda r: r.family)
    return [view(ns, r) for r in routes if (r.table == table if table else r.table != 255)]


def owned(host: Host, ns: Netns) -> list[dict[str, Any]]:
    """Every route but the local table's, with the owner its record names."""
    found = []
    for route in sorted(host.routes(ns), key=lambda r: r.family):
        key = Key(route.family, route.dst, route.dst_len, route.table, route.metric)
        found.append({**view(ns, route), "owner": owner_view(_mark(host, ns, key, route))})
    return found


def route_delete(host: Host, args: Args) -> Any:
    key, claim = route_key(args), args.claim()
    ns = find_ns(host, args)
    if ns is None:
        return {"deleted": False}
    record = _record(host, ns, key)
    found = _find(host, ns, key)
    if found is None:
        host.records.pop(record, None)
        return {"deleted": False}
    mark = _mark(host, ns, key, found, claim)
    if not claim.mine(parse_mark(mark)):
        return {"deleted": False, "kept": claim.kept(mark)}
    if found in ns.routes:
        ns.routes.remove(found)
    host.records.pop(record, None)
    return {"deleted": True}
