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


def _global6(line: str) -> bool:
    words = line.split()
    dst = words[1] if words[0] in ("local", "anycast", "multicast", "broadcast") else words[0]
    return not dst.startswith(("fe80", "ff00", "ff02"))


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
        if a.get("scope") != "link"
    )
    routes = lab.host_exec(host, ["ip", "-4", "route", "show", "table", "all"]).stdout
    routes6 = lab.host_exec(host, ["ip", "-6", "route", "show", "table", "all"]).stdout
    # IPv6 link-local and multicast routes come and go with address autoconfiguration.
    routes += "\n".join(
        line for line in routes6.splitlines() if not line.split()[1:2] or _global6(line)
    )
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
