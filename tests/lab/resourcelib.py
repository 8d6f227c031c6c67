"""Builders and host-state readers for the lab tests of resource kinds.

Every object a test makes is named ``hnt<4 hex>...`` (``uid()``), so runs and
tests never collide. Host state is read straight from the host's namespaces
(``hostnet_lab.host_exec``), never through hostnet, so a bug in hostnet's reads
cannot hide a bug in its writes.
"""

from __future__ import annotations

import difflib
import json
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from hostnet import hosts, transport
from hostnet.agent_client import Agent
from hostnet.resources import KINDS
from hostnet_lab import LabInfo, host_exec

# A network that no lab route or address covers: routes to it never carry traffic.
SPARE_NET = "198.18"


def uid() -> str:
    """A fresh name stem: ``hnt`` and 4 hex digits (fits any ifname suffix)."""
    return "hnt" + secrets.token_hex(2)


def spare_octet(stem: str) -> int:
    """A third octet for 198.18.X.0/24 derived from a stem, so tests' networks differ."""
    return int(stem[-4:], 16) % 250 + 1


def host_input(lab: LabInfo, name: str, *, alias: str | None = None) -> dict[str, Any]:
    """The ``host`` input of a resource on lab host ``name``.

    ``alias`` gives the same machine under another host name, i.e. another owner.
    """
    return {
        "name": alias or name,
        "address": lab.hosts[name],
        "key_file": str(lab.key_path),
        "known_hosts": str(lab.known_hosts_path),
    }


def checked(kind: str, news: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs as the kind's check returns them; fails the test on any failure."""
    inputs, failures = KINDS[kind].check(news)
    assert not failures, failures
    return dict(inputs)


def agent_for(inputs: Mapping[str, Any]) -> Agent:
    return transport.agent_for(hosts.connection_from(inputs))


def run(host: str, *argv: str) -> str:
    """Run a command on a lab host; fail the test unless it succeeds."""
    done = host_exec(host, list(argv))
    assert done.returncode == 0, f"{host}: {' '.join(argv)} -> {done.returncode}: {done.stderr}"
    return done.stdout


def run_quietly(host: str, *argv: str) -> None:
    """Run a cleanup command; what is already gone is fine."""
    host_exec(host, list(argv))


def add_link(host: str, name: str, *, netns: str | None = None, up: bool = False) -> None:
    """A plain Ethernet link made by hand: one end of a veth pair whose other end
    is ``name`` + "x" (the lab loads no kernel module, so there is no dummy)."""
    prefix = ("ip", "-n", netns) if netns else ("ip",)
    run(host, *prefix, "link", "add", name, "type", "veth", "peer", "name", name + "x")
    if up:
        run(host, *prefix, "link", "set", name, "up")
        run(host, *prefix, "link", "set", name + "x", "up")


# -- reading host state --------------------------------------------------------


def links(host: str, netns: str | None = None) -> dict[str, dict[str, Any]]:
    """``ip -j -d link show`` by ifname (in a named namespace of the host if given)."""
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    return {link["ifname"]: link for link in json.loads(run(host, *prefix, "-j", "-d", "link"))}


def link(host: str, ifname: str, netns: str | None = None) -> dict[str, Any] | None:
    return links(host, netns).get(ifname)


def addresses(host: str, ifname: str, netns: str | None = None) -> list[str]:
    """Global-scope addresses of one link as ``address/prefix``."""
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    found = json.loads(run(host, *prefix, "-j", "addr", "show", "dev", ifname))
    return [
        f"{a['local']}/{a['prefixlen']}"
        for entry in found
        for a in entry.get("addr_info", [])
        if a.get("scope") == "global"
    ]


def netns_names(host: str) -> list[str]:
    """Named namespaces of the host, without the ids ``ip netns list`` may print."""
    return sorted(line.split()[0] for line in run(host, "ip", "netns", "list").splitlines() if line)


def routes(host: str, netns: str | None = None) -> list[str]:
    """IPv4 routes of every table, and IPv6 routes that are not link-local/multicast
    (those come and go with address autoconfiguration)."""
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    v4 = run(host, *prefix, "-4", "route", "show", "table", "all").splitlines()
    v6 = run(host, *prefix, "-6", "route", "show", "table", "all").splitlines()
    v6 = [line for line in v6 if not re.search(r"(^|\s)(fe80|ff00|ff02)::", line)]
    return sorted(line.strip() for line in v4 + v6 if line.strip())


def iptables(host: str, netns: str | None = None) -> list[str]:
    """``iptables-save`` without comment lines and counters, in order."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    lines = run(host, *prefix, "iptables-save").splitlines()
    return [
        re.sub(r" \[\d+:\d+\]$", "", line) for line in lines if line and not line.startswith("#")
    ]


def chain_lines(host: str, table: str, chains: tuple[str, ...]) -> list[str]:
    """The ``-A`` lines and policies of some chains of one table (no counters)."""
    found, current = [], ""
    for line in iptables(host):
        if line.startswith("*"):
            current = line[1:]
        elif current == table and _in_chains(line, chains):
            found.append(line)
    return found


def _in_chains(line: str, chains: tuple[str, ...]) -> bool:
    words = line.split()
    if line.startswith(":"):
        return words[0][1:] in chains
    return words[0] == "-A" and words[1] in chains


_TIMER = re.compile(r"(_timer)\s+[\d.]+")


def link_text(host: str, netns: str | None = None, *, dev: str | None = None) -> str:
    """``ip -d link show [dev]`` as printed, but for the bridge timers that tick by themselves."""
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    which = ["dev", dev] if dev else []
    return _TIMER.sub(r"\1 -", run(host, *prefix, "-d", "link", "show", *which))


def addr_text(host: str) -> str:
    """IPv4 ``ip addr`` (global and host scope), exactly as printed."""
    return run(host, "ip", "-4", "addr", "show")


def snapshot(host: str) -> dict[str, Any]:
    """What a create or delete may change on a host, to compare before and after.

    Links are the exact ``ip -d link`` text, so an object left behind, a new
    master or a changed flag all show.
    """
    return {
        "links": link_text(host),
        "addresses": addr_text(host),
        "routes": routes(host),
        "iptables": iptables(host),
        "netns": netns_names(host),
    }


def assert_same(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    """Equal snapshots, with the differing part named when they are not."""
    for key in before:
        if after[key] != before[key]:
            old, new = (_lines(x) for x in (before[key], after[key]))
            diff = "\n".join(difflib.unified_diff(old, new, "before", "after", lineterm=""))
            raise AssertionError(f"host state changed in {key}:\n{diff}")


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, list):
        return [str(v) for v in value]
    return [repr(value)]


# -- cleanup -------------------------------------------------------------------


class Cleanup:
    """Actions run at test end, last added first; one that fails does not stop
    the others, and the first error is raised once all have run."""

    def __init__(self) -> None:
        self.actions: list[Callable[[], None]] = []

    def add(self, action: Callable[[], None]) -> None:
        self.actions.append(action)

    def delete_link(self, host: str, ifname: str, netns: str | None = None) -> None:
        prefix = ("ip", "-n", netns) if netns else ("ip",)
        self.add(lambda: run_quietly(host, *prefix, "link", "delete", ifname))

    def delete_netns(self, host: str, name: str) -> None:
        self.add(lambda: run_quietly(host, "ip", "netns", "delete", name))

    def delete_resource(self, kind: str, inputs: Mapping[str, Any]) -> None:
        """hostnet's own delete: removes exactly what it owns, whatever a test left."""
        frozen = dict(inputs)
        self.add(lambda: KINDS[kind].delete(agent_for(frozen), frozen))

    def run_all(self) -> None:
        errors: list[BaseException] = []
        for action in reversed(self.actions):
            try:
                action()
            except Exception as exc:  # keep cleaning; report at the end
                errors.append(exc)
        self.actions.clear()
        if errors:
            raise errors[0]


@contextmanager
def cleaning() -> Iterator[Cleanup]:
    """Cleanup actions for one test; afterwards neither lab host used by these
    tests may hold anything a test made (so no test stands on another's leftovers)."""
    for host in ("h2", "h3"):
        # What a lab already held when the first test started is not a leftover.
        _BASELINE.setdefault(host, set(leftovers(host)))
    cleanup = Cleanup()
    try:
        yield cleanup
    finally:
        cleanup.run_all()
    for host in ("h2", "h3"):
        found = [line for line in leftovers(host) if line not in _BASELINE[host]]
        assert not found, f"{host} still holds test objects: {found}"


_BASELINE: dict[str, set[str]] = {}

_TEST_MARKS = ("hnt", "HOSTNET", "198.18.", "198.19.", "198.51.100.", "DOCKER-USER")


def sysctl_records(host: str) -> str:
    """hostnet's journal of replaced sysctl values on a host: ``path:record`` lines."""
    done = host_exec(host, ["sh", "-c", "cd /run/hostnet/sysctl 2>/dev/null && grep -r . ."])
    ports = host_exec(host, ["sh", "-c", "cd /run/hostnet/ports 2>/dev/null && grep -r . ."])
    return done.stdout + ports.stdout


def leftovers(host: str) -> list[str]:
    """Lines of host state that name an object of these tests."""
    lines = [
        *link_text(host).splitlines(),
        *addr_text(host).splitlines(),
        *routes(host),
        *run(host, "ip", "rule", "show").splitlines(),
        *iptables(host),
        *netns_names(host),
        *sysctl_records(host).splitlines(),
    ]
    return [line for line in lines if any(mark in line for mark in _TEST_MARKS)]
