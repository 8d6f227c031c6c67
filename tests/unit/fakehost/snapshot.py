"""The ``snapshot`` op on the model: what every read op needs of one namespace, in
the shape the agent's snapshot op gives it (parts ``net`` and ``extra``), so a
client that answers reads from snapshots gets from the fake what the host gives.
The fake answers it once the agent's op table has it.
"""

from __future__ import annotations

from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.iptables import table_view
from hostnet.agent.iptsave import parse
from hostnet.agent.owner import MARK_PREFIX, owner_view
from hostnet.agent.snapshot import COMMON_SYSCTLS, asked_parts, gather

from . import links, netns, routes, rules
from .common import find_ns, link_view
from .model import OWN, Host, Netns


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
    return table_view(parse(ns.tables[name].save_text(name)))


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
    parts = asked_parts(args)
    ns = find_ns(host, args)
    if ns is None:
        return None
    return gather(parts, net=lambda: _net(host, ns), extra=lambda: _extra(host, ns))
