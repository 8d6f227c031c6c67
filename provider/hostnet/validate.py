"""Offline validation and normalisation of resource inputs.

``Checker`` walks the inputs of one resource, copies each field in canonical
form and collects every failure with the field's name, so a user sees all that
is wrong at once, before any host is touched. Values Pulumi does not know yet
(``UNKNOWN``, at any depth) pass through untouched, and a rule that needs one
of them waits for ``up``, when it is known.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hostnet import hosts
from hostnet.agent.names import ifname_problem as _ifname_problem
from hostnet.unknown import is_unknown

_NETNS_NAME = re.compile(r"[A-Za-z0-9_.+-]{1,200}")
_CONTAINER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
# Inputs every kind takes beside its own: the login keys and the owner the SDK adds.
COMMON_INPUTS = frozenset({*hosts.SECRET_INPUTS, "owner", "adopt"})
Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


@dataclass(frozen=True, kw_only=True)
class Failure:
    """One rejected input: the field (dotted path) and why."""

    field: str
    reason: str


def ifname_problem(value: object) -> str | None:
    """Why a value is not a usable Linux interface name (the agent's rule), or None."""
    return _ifname_problem(value) or None


def netns_problem(value: object) -> str | None:
    """Why a namespace reference (name, pid:N, /path, container:NAME) is unusable."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    kind, _, rest = value.partition(":")
    if kind == "pid" and rest:
        ok, why = rest.isdigit() and int(rest) > 0, "pid:N needs a process id"
    elif kind == "container" and rest:
        ok, why = bool(_CONTAINER.fullmatch(rest)), "a container name is letters, digits and . _ -"
    elif value.startswith("/"):
        parts = value.split("/")[1:]
        ok = not any(p in ("", ".", "..") for p in parts) and "\n" not in value
        why = "a path must be absolute and plain (no '..', '.' or '//')"
    else:
        ok = value not in (".", "..") and bool(_NETNS_NAME.fullmatch(value))
        why = "is not a namespace name (letters, digits, . _ + -)"
    return None if ok else f"{value!r}: {why}"


def items(value: Any) -> Iterator[tuple[int, Any]]:
    """The entries of a list input (a single value counts as a list of one)."""
    yield from enumerate(value if isinstance(value, list | tuple) else [value])


def records(
    c: Checker, key: str, value: Any, *, out: list[Any], what: str
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The entries of a list of records (router legs, routes) to check: an entry
    Pulumi does not know yet goes to ``out`` as it is; one that is no record fails."""
    for i, item in items(value):
        if is_unknown(item) and not isinstance(item, Mapping):
            out.append(item)
        elif not isinstance(item, Mapping):
            c.fail(f"{key}[{i}]", f"must be a {what}")
        else:
            yield i, item


class Checker:
    """Collects normalised inputs and failures for one resource."""

    def __init__(self, news: Mapping[str, Any], *, inputs: Collection[str] | None = None) -> None:
        self.news = news
        self.inputs = inputs
        self.out: dict[str, Any] = {}
        self.failures: list[Failure] = []

    def fail(self, field: str, reason: str) -> None:
        self.failures.append(Failure(field=field, reason=reason))

    def known(self, key: str) -> bool:
        """True when the field is set and known; an unknown one is copied as it is."""
        value = self.news.get(key)
        if value is None:
            return False
        if is_unknown(value):
            self.out[key] = value
            return False
        return True

    def unknown(self, *keys: str) -> bool:
        """True when any of these fields waits for a value (a rule on them waits too)."""
        return any(is_unknown(self.news.get(k)) for k in keys)

    def _take(self, key: str, *, required: bool) -> tuple[bool, Any]:
        """(needs checking, value); copies unknowns and reports missing fields."""
        if self.news.get(key) is None:
            if required:
                self.fail(key, "is required")
            return False, None
        return self.known(key), self.news[key]

    def host(self) -> None:
        self._owner()
        if self.news.get("host") is None:
            self.fail("host", "is required")
            return
        host, failures = hosts.check_host(
            self.news["host"], private_key=self.news.get("private_key")
        )
        self.failures += [Failure(field=f, reason=r) for f, r in failures]
        if host is not None:
            self.out["host"] = host
        for key in hosts.SECRET_INPUTS:
            if self.news.get(key) is not None:
                self.out[key] = self.news[key]

    def _owner(self) -> None:
        """The hidden input the SDK adds (hostnet.ownership); absent for direct callers."""
        owner = self.news.get("owner")
        if owner is not None:
            if not isinstance(owner, Mapping) or not all(
                isinstance(owner.get(k), str) and owner[k] for k in ("stack", "resource")
            ):
                self.fail("owner", "must name the stack and the resource (set by pulumi_hostnet)")
            else:
                self.out["owner"] = {k: owner[k] for k in ("stack", "resource")}
        if self.boolean("adopt") is None:
            self.out.pop("adopt", None)

    def ifname(self, key: str, *, required: bool = True) -> str | None:
        ok, value = self._take(key, required=required)
        if not ok:
            return None
        problem = ifname_problem(value)
        if problem:
            self.fail(key, problem)
            return None
        self.out[key] = value
        return str(value)

    def ifnames(self, key: str) -> list[str]:
        value = self.news.get(key)
        if value is None or (is_unknown(value) and not isinstance(value, list | tuple)):
            self.known(key)
            return []
        names: list[str] = []
        out: list[Any] = []
        for i, item in items(value):
            problem = None if is_unknown(item) else ifname_problem(item)
            if problem:
                self.fail(f"{key}[{i}]", problem)
            elif item in names:
                self.fail(f"{key}[{i}]", f"{item!r} is listed twice")
            else:
                out.append(item)
                names += [] if is_unknown(item) else [item]
        self.out[key] = out
        return names

    def netns(self, key: str = "netns") -> str | None:
        ok, value = self._take(key, required=False)
        if not ok:
            return None
        problem = netns_problem(value)
        if problem:
            self.fail(key, problem)
            return None
        self.out[key] = value
        return str(value)

    def interfaces(self, key: str) -> list[Interface]:
        """A list of addresses with prefix (CIDR), canonical, no duplicates."""
        value = self.news.get(key)
        if value is None:
            return []
        if is_unknown(value) and not isinstance(value, list | tuple):
            self.out[key] = value
            return []
        found: list[Interface] = []
        out: list[Any] = []
        for i, item in items(value):
            if is_unknown(item):
                out.append(item)
                continue
            parsed = parse_interface(item, field=f"{key}[{i}]", checker=self)
            if parsed is None:
                continue
            if parsed in found:
                self.fail(f"{key}[{i}]", f"{item!r} is listed twice")
                continue
            found.append(parsed)
            out.append(str(parsed))
        self.out[key] = out
        return found

    def integer(self, key: str, *, low: int, high: int, required: bool = False) -> int | None:
        ok, value = self._take(key, required=required)
        if not ok:
            return None
        # Pulumi sends every number as a float; 1500.0 is fine, 1500.5 is not.
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            self.fail(key, f"{value!r} is not a whole number")
            return None
        if not low <= int(value) <= high:
            self.fail(key, f"{int(value)} is outside {low}..{high}")
            return None
        self.out[key] = int(value)
        return int(value)

    def boolean(self, key: str, *, default: bool | None = None) -> bool | None:
        ok, value = self._take(key, required=False)
        if not ok:
            if default is not None and key not in self.out:
                self.out[key] = default
                return default
            return None
        if not isinstance(value, bool):
            self.fail(key, f"{value!r} is not true or false")
            return None
        self.out[key] = value
        return value

    def choice(
        self, key: str, allowed: tuple[str, ...], *, default: str | None = None
    ) -> str | None:
        """One of a fixed set of words; unknown passes, a typo names the choices."""
        if self.news.get(key) is None and default is not None:
            self.out[key] = default
            return default
        ok, value = self._take(key, required=default is None)
        if not ok:
            return None
        if value not in allowed:
            self.fail(key, f"{value!r} is not one of {', '.join(allowed)}")
            return None
        self.out[key] = value
        return str(value)

    def nested(self, key: str, sub: Checker, *, index: int | None = None) -> None:
        """Take a sub-checker's failures under ``key`` (``key[index].field``)."""
        where = key if index is None else f"{key}[{index}]"
        self.failures += [
            Failure(field=f"{where}.{f.field}", reason=f.reason) for f in sub.failures
        ]

    def result(self) -> tuple[dict[str, Any], list[Failure]]:
        for key, value in self.news.items():
            # An unknown value no rule looked at still goes through, untouched.
            if key not in self.out and value is not None and is_unknown(value):
                self.out[key] = value
        if self.inputs is not None:
            allowed = set(self.inputs) | COMMON_INPUTS
            for key in sorted(set(self.news) - allowed):
                if self.news[key] is not None:
                    self.fail(
                        key, f"is not an input of this resource ({', '.join(sorted(self.inputs))})"
                    )
        return self.out, self.failures


def parse_interface(value: object, *, field: str, checker: Checker) -> Interface | None:
    if not isinstance(value, str) or "/" not in value:
        checker.fail(field, f"{value!r} needs a prefix length, e.g. 192.168.5.1/24")
        return None
    try:
        parsed = ipaddress.ip_interface(value)
    except ValueError as exc:
        checker.fail(field, str(exc))
        return None
    if parsed.ip.is_multicast or parsed.ip.is_unspecified:
        checker.fail(field, f"{value} is not a unicast address")
        return None
    if (
        parsed.version == 4
        and parsed.network.prefixlen < 31
        and parsed.ip
        in (
            parsed.network.network_address,
            parsed.network.broadcast_address,
        )
    ):
        checker.fail(
            field, f"{value} is the network's own or broadcast address; pick a host address"
        )
        return None
    return parsed


def same_address(interfaces: list[Interface], address: Any) -> Interface | None:
    """The entry of ``interfaces`` that carries ``address`` (an IP text), if any."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else None
    except ValueError:
        return None
    return next((i for i in interfaces if i.ip == ip), None)


def management_address_taken(host: Mapping[str, Any], address: Interface) -> str:
    """Why an address that SSH reaches the host on cannot go on a new interface."""
    return (
        f"{address.ip} is {host.get('name')}'s management address (hostnet's SSH session "
        "reaches the host there); putting it on a new interface cuts that session. To move "
        "it onto a bridge, give the bridge uplink= (the NIC that carries it)"
    )


def check_management_address(c: Checker, key: str, found: list[Interface]) -> None:
    """Refuse the host's own SSH address among a new interface's addresses."""
    host = c.out.get("host")
    if not isinstance(host, Mapping):
        return
    hit = same_address(found, host.get("address"))
    if hit is not None:
        c.fail(key, management_address_taken(host, hit))
