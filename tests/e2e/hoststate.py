"""A host's network state read directly in its namespaces (not through hostnet)."""

from __future__ import annotations

import json
from typing import Any

from hostnet import lab


def _ip_json(host: str, *args: str) -> Any:
    proc = lab.host_exec(host, ["ip", "-j", *args])
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout or "[]")


def links(host: str) -> dict[str, dict[str, Any]]:
    return {link["ifname"]: link for link in _ip_json(host, "-d", "link", "show")}


def snapshot(host: str) -> dict[str, Any]:
    """Links, addresses, routes of every table and iptables rules, minus counters."""
    link_view = sorted(
        (link["ifname"], link.get("master"), tuple(sorted(link.get("flags", []))), link.get("mtu"))
        for link in _ip_json(host, "link", "show")
    )
    addr_view = sorted(
        (entry["ifname"], a["local"], a["prefixlen"])
        for entry in _ip_json(host, "addr", "show")
        for a in entry.get("addr_info", [])
    )
    routes = lab.host_exec(host, ["ip", "route", "show", "table", "all"]).stdout
    rules = lab.host_exec(host, ["iptables-save"]).stdout
    return {
        "links": link_view,
        "addresses": addr_view,
        "routes": sorted(line for line in routes.splitlines() if line.strip()),
        "iptables": sorted(
            line for line in rules.splitlines() if line and not line.startswith(("#", ":"))
        ),
        "netns": sorted(lab.host_exec(host, ["ip", "netns", "list"]).stdout.split("\n")),
    }
