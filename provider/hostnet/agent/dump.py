"""Snapshots of a host's network state (tests compare them before and after)."""

from __future__ import annotations

from typing import Any

from .args import Args
from .context import Context
from .errors import NotFound
from .iptsave import save, tools, without_counters
from .linkview import read_all
from .netns import list_netns
from .nsref import Netns, named
from .routes import list_routes
from .sysctl import read_many

SYSCTL_KEYS = ["net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding", "net.ipv4.conf.all.rp_filter"]


def _sysctls(ctx: Context, ns: Netns) -> dict[str, str | None]:
    values = read_many(ctx, ns, SYSCTL_KEYS)
    return {key: values[i] for i, key in enumerate(SYSCTL_KEYS)}


def dump_one(ctx: Context, ref: str | None) -> dict[str, Any]:
    """Links, routes of every table but local, iptables, a few sysctls of one namespace.

    ``netns`` lists the named namespaces only in the dump of the agent's own one.
    """
    ns = ctx.netns(ref)
    net = ctx.net_at(ns)
    return {
        "links": read_all(net),
        "routes": list_routes(net, table=0),
        "netns": list_netns(ctx) if ns.own else [],
        "rules": without_counters(save(ctx, ns)) if tools().mode else {},
        "sysctl": _sysctls(ctx, ns),
    }


def dump(ctx: Context, args: Args) -> Any:
    return dump_one(ctx, args.ref())


def dump_all(ctx: Context, args: Args) -> Any:
    """The agent's namespace and every named one; one deleted meanwhile is left out."""
    found: dict[str, Any] = {}
    for name in named():
        try:
            found[name] = dump_one(ctx, name)
        except NotFound:
            continue
    return {"host": dump_one(ctx, None), "netns": found}
