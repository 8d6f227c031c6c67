"""The ``snapshot`` op on the model: what every read op needs of one namespace, in
the shape the agent's snapshot op gives it (parts ``net`` and ``extra``), so a
client that answers reads from snapshots gets from the fake what the host gives.
The fake answers it once the agent's op table has it.
"""

from __future__ import annotations

from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import Invalid
from hostnet.agent.iptsave import parse
from hostnet.agent.owner import MARK_PREFIX, owner_view

from . import links, netns, routes, rules
from .common import find_ns, link_view
from .model import OWN, Host, Netns

PARTS = ("net", "extra")
# The settings read in the agent's own namespace and in named ones, beside those
# hostnet recorded.
COMMON_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding",
    "net.ipv6.conf.all.forwarding",
    "net.ipv4.conf.all.rp_filter",
)


def _net(host: Host, ns: Netns) -> dict[str, Any]:
    found = [link_view(host, ns, link) for link in ns.links.values()]
    return {
        "links": found,
        "routes": routes.owned(host, ns),
        "ip_rules": rules.annotated(host, ns),
        "fdb": {
            link["ifname"]: links.entries(ns.links[link["ifindex"]])
            for link in found
            if link["kind"] == "vxlan"
        },
    }


def _table_view(host: Host, ns: Netns, name: str) -> dict[str, Any]:
    parsed = parse(ns.tables[name].save_text(name))
    return {
        "chains": sorted(parsed.chains),
        "rules": [
            {
                "chain": r.chain,
                "tokens": r.tokens,
                "rule": r.spec,
                "owner": None if r.owner is None else owner_view(MARK_PREFIX + r.owner),
                "position": r.position,
            }
            for r in parsed.rules
        ],
    }


def _extra(host: Host, ns: Netns) -> dict[str, Any]:
    recorded = sorted(k[2] for k in host.records if k[:2] == host.record_key(ns, "sysctl", "")[:2])
    keys = sorted(set(recorded) | (set(COMMON_SYSCTLS) if ns.named or ns.key == OWN else set()))
    owners = {}
    for key in keys:
        record = host.records.get(host.record_key(ns, "sysctl", key))
        if record is not None:
            owners[key] = owner_view(MARK_PREFIX + str(record.get("owner") or ""))
    return {
        "iptables": {name: _table_view(host, ns, name) for name in ns.tables},
        "sysctl": {key: ns.sysctls.get(key) for key in keys},
        "sysctl_owners": owners,
        "netns": netns.listed(host) if ns.key == OWN else None,
    }


def snapshot(host: Host, args: Args) -> Any:
    parts = args.raw("parts")
    if parts is None:
        parts = list(PARTS)
    if not isinstance(parts, list) or not parts or any(p not in PARTS for p in parts):
        raise Invalid(f"{args.op}: parts must be a list of {', '.join(PARTS)}")
    ns = find_ns(host, args)
    if ns is None:
        return None
    found: dict[str, Any] = {}
    if "net" in parts:
        found["net"] = _net(host, ns)
    if "extra" in parts:
        found["extra"] = _extra(host, ns)
    return found
