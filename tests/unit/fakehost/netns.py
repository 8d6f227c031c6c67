"""Namespace and sysctl ops on the model, as hostnet.agent.netns and sysctl do them.

A namespace hostnet makes is marked by the alias of its ``lo``. A sysctl's first
write records its owner and the value it found (record kind ``sysctl``), which
sysctl_restore writes back.
"""

from __future__ import annotations

from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import NotFound
from hostnet.agent.nsref import check_name
from hostnet.agent.owner import MARK_PREFIX, owner_view, parse_mark
from hostnet.agent.sysctl import _norm, _value, check_key

from .common import find_ns, require_ns
from .model import Host, Netns


def _named(host: Host, name: str) -> Netns | None:
    found = host.netns.get(name)
    return found if found is not None and found.named else None


def _lo_mark(ns: Netns) -> str | None:
    lo = ns.link("lo")
    return None if lo is None else lo.alias


def netns_ensure(host: Host, args: Args) -> Any:
    name, claim = check_name(args.text("name")), args.claim()
    ns = _named(host, name)
    created = ns is None
    if ns is None:
        ns = host.add_netns(name, named=True)
    else:
        claim.check(_lo_mark(ns), what=f"netns {name}")
    lo = ns.link("lo")
    assert lo is not None
    lo.alias, lo.up = claim.me.mark(), True
    return {"created": created}


def netns_delete(host: Host, args: Args) -> Any:
    name, claim = check_name(args.text("name")), args.claim()
    ns = _named(host, name)
    if ns is None:
        return {"deleted": False}
    found = _lo_mark(ns)
    if not claim.mine(parse_mark(found)):
        return {"deleted": False, "kept": claim.kept(found)}
    host.delete_netns(ns)
    return {"deleted": True}


def netns_read(host: Host, args: Args) -> Any:
    name = check_name(args.text("name"))
    ns = _named(host, name)
    return None if ns is None else {"name": name, "owner": owner_view(_lo_mark(ns))}


def listed(host: Host) -> list[dict[str, Any]]:
    """The named namespaces and their owners, by name."""
    return [
        {"name": ns.key, "owner": owner_view(_lo_mark(ns))}
        for ns in sorted(host.netns.values(), key=lambda n: n.key)
        if ns.named
    ]


def netns_list(host: Host, args: Args) -> Any:
    return listed(host)


# -- sysctl ---------------------------------------------------------------------


def _mark_of(record: dict[str, Any]) -> str:
    return MARK_PREFIX + str(record.get("owner") or "")


def sysctl_read(host: Host, args: Args) -> Any:
    key = check_key(args.text("key"))
    ns = find_ns(host, args)
    return None if ns is None else ns.sysctls.get(key)


def sysctl_read_owned(host: Host, args: Args) -> Any:
    key = check_key(args.text("key"))
    ns = find_ns(host, args)
    if ns is None or key not in ns.sysctls:
        return None
    record = host.records.get(host.record_key(ns, "sysctl", key))
    owner = None if record is None else owner_view(_mark_of(record))
    return {"value": ns.sysctls[key], "owner": owner}


def sysctl_write(host: Host, args: Args) -> Any:
    key, value, claim = check_key(args.text("key")), _value(args), args.claim()
    ns = require_ns(host, args)
    current = ns.sysctls.get(key)
    if current is None:
        raise NotFound(f"sysctl {key} does not exist in {ns.label}")
    if not args.flag("record", default=True):
        ns.sysctls[key] = _norm(value)
        return {"previous": current}
    path = host.record_key(ns, "sysctl", key)
    record = host.records.get(path)
    created = record is None
    if record is None:
        record = {"owner": claim.me.body(), "previous": current, "netns": ns.label, "key": key}
        host.records[path] = record
    elif claim.check(_mark_of(record), what=f"sysctl {key} in {ns.label}"):
        host.records[path] = {**record, "owner": claim.me.body()}
    ns.sysctls[key] = _norm(value)
    return {"previous": record["previous"], "created": created}


def sysctl_restore(host: Host, args: Args) -> Any:
    key, claim = check_key(args.text("key")), args.claim()
    ns = find_ns(host, args)
    path = host.record_key(ns, "sysctl", key) if ns is not None else None
    record = host.records.get(path) if path is not None else None
    if ns is None or path is None or record is None:
        return {"restored": None}
    if not claim.mine(parse_mark(_mark_of(record))):
        return {"restored": None, "kept": claim.kept(_mark_of(record))}
    previous = record.get("previous")
    restored = None
    if isinstance(previous, str) and key in ns.sysctls:
        ns.sysctls[key] = _norm(previous)
        restored = previous
    del host.records[path]
    return {"restored": restored}
