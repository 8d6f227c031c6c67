"""A host's network state read directly in its namespaces (not through hostnet)."""

from __future__ import annotations

import json
from typing import Any

import hostnet_lab as lab


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


def _rules(saved: str) -> list[str]:
    """Rules and chains per table, without counters. A built-in chain with policy
    ACCEPT and no rules is the same as no table at all: iptables-nft creates
    tables on first use and they stay, empty, when the last rule goes."""
    table, out = "", []
    for line in saved.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            chain, policy = line[1:].split()[:2]
            if policy != "ACCEPT":
                out.append(f"{table} :{chain} {policy}")
        elif line.startswith("-A "):
            out.append(f"{table} {line}")
    return sorted(out)


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two snapshots, one line per item, for assertion messages."""
    lines = []
    for node in sorted(set(before) | set(after)):
        a, b = before.get(node), after.get(node)
        if a == b:
            continue
        if not isinstance(a, dict) or not isinstance(b, dict):
            lines.append(f"{node}: {a!r} -> {b!r}")
            continue
        for key in sorted(set(a) | set(b)):
            old, new = a.get(key), b.get(key)
            if old != new and isinstance(old, list) and isinstance(new, list):
                lines += [f"{node} {key} - {x}" for x in old if x not in new]
                lines += [f"{node} {key} + {x}" for x in new if x not in old]
            elif old != new:
                lines.append(f"{node} {key}: {old!r} -> {new!r}")
    return lines


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
    rules = _rules(lab.host_exec(host, ["iptables-save"]).stdout)
    policy = [
        f"v{family} {line.strip()}"
        for family in (4, 6)
        for line in lab.host_exec(host, ["ip", f"-{family}", "rule", "show"]).stdout.splitlines()
    ]
    return {
        "links": link_view,
        "addresses": addr_view,
        "routes": sorted(line for line in routes.splitlines() if line.strip()),
        "iptables": rules,
        "rules": policy,
        "sysctl": lab.host_exec(
            host, ["sysctl", "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter"]
        ).stdout.splitlines(),
        # The kernel numbers a namespace ("(id: 2)") once a link crossed into it;
        # that number is bookkeeping, not configuration.
        "netns": sorted(
            line.split(" (id:")[0]
            for line in lab.host_exec(host, ["ip", "netns", "list"]).stdout.splitlines()
        ),
    }


def foreign_rules(host: str) -> list[str]:
    """iptables-save of the filter and nat tables as printed, minus counters,
    comments and hostnet's own lines: what was there before hostnet (firewalld's
    and docker's chains) must stay byte for byte, in order."""
    lines = []
    for table in ("filter", "nat"):
        saved = lab.host_exec(host, ["iptables-save", "-t", table]).stdout.splitlines()
        lines += [
            line.rsplit(" [", 1)[0] if line.startswith(":") else line
            for line in saved
            if not line.startswith("#") and "HOSTNET" not in line
        ]
    return lines
