"""The ``snapshot`` op: what every read op needs of one namespace, in one request.

The controller answers a refresh's reads from it (select.py), so a refresh costs
a round trip per namespace and part, not per object. Two parts, since they cost
differently: ``net`` is netlink dumps only (links, routes, policy rules, vxlan
FDBs); ``extra`` runs tools (iptables-save, a child process for the sysctls of
another namespace) and lists the named namespaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .args import Args
from .context import Context
from .errors import Invalid
from .fdb import entries_of
from .iptables import table_view
from .iptsave import parse, save, tools
from .linkview import read_all
from .netns import list_netns
from .nsref import NETNS_DIR, Netns
from .routes import owned_routes
from .rules import annotated, list_rules
from .sysctl import recorded_keys, values

if TYPE_CHECKING:  # subscripting collections.abc.Callable needs Python 3.9 at run time
    from collections.abc import Callable

PARTS = ("net", "extra")
# Read in the agent's own namespace (no extra process) and in named ones (the
# routers', whose forwarding their read checks; one child process reads them all).
COMMON_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding",
    "net.ipv6.conf.all.forwarding",
    "net.ipv4.conf.all.rp_filter",
)


def net_part(ctx: Context, ns: Netns) -> dict[str, Any]:
    net = ctx.net_at(ns)
    links = read_all(net)
    return {
        "links": links,
        "routes": owned_routes(net),
        "ip_rules": annotated(net, list_rules(net)),
        "fdb": entries_of(net, links),
    }


def _tables(ctx: Context, ns: Netns) -> dict[str, Any] | None:
    if not tools().mode:
        return None
    found: dict[str, Any] = {}
    name: str | None = None
    lines: list[str] = []
    for line in [*save(ctx, ns).splitlines(), "*"]:
        if line.startswith("*"):
            if name is not None:
                found[name] = table_view(parse("\n".join(lines)))
            name, lines = line[1:] or None, []
        else:
            lines.append(line)
    return found


def extra_part(ctx: Context, ns: Netns) -> dict[str, Any]:
    keys = recorded_keys(ns)
    if ns.own or (ns.path or "").startswith(NETNS_DIR + "/"):
        keys = sorted(set(keys) | set(COMMON_SYSCTLS))
    sysctl = values(ctx, ns, keys) if keys else {"sysctl": {}, "sysctl_owners": {}}
    return {
        "iptables": _tables(ctx, ns),
        **sysctl,
        "netns": list_netns(ctx) if ns.own else None,
    }


def asked_parts(args: Args) -> list[str]:
    parts = args.raw("parts")
    if parts is None:
        return list(PARTS)
    if not isinstance(parts, list) or not parts or any(p not in PARTS for p in parts):
        raise Invalid(f"{args.op}: parts must be a list of {', '.join(PARTS)}")
    return parts


def gather(parts: list[str], **readers: Callable[[], Any]) -> dict[str, Any]:
    """The asked parts, each read by its reader (``net``, ``extra``)."""
    return {part: readers[part]() for part in PARTS if part in parts}


def snapshot(ctx: Context, args: Args) -> Any:
    """The asked parts of one namespace; null when it does not exist."""
    parts = asked_parts(args)
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    return gather(parts, net=lambda: net_part(ctx, ns), extra=lambda: extra_part(ctx, ns))
