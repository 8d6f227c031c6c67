"""Offline validation and normalisation of resource inputs.

``Checker`` walks the inputs of one resource, copies each field in canonical
form and collects every failure with the field's name, so a user sees all that
is wrong at once, before any host is touched. Values Pulumi does not know yet
pass through untouched.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from hostnet.resources._base import Failure, is_unknown

_IFNAME = re.compile(r"^[A-Za-z0-9_.@:+-]+$")
_NETNS_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,200}$")
HOST_FIELDS = (
    "name",
    "address",
    "port",
    "user",
    "host_key",
    "known_hosts",
    "key_file",
    "sudo",
    "python",
    "trust_on_first_use",
    "connect_timeout",
    "request_timeout",
    "guard_timeout",
)


def ifname_problem(value: object) -> str | None:
    """Why a string is not a usable Linux interface name, or None."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value.encode()) > 15:
        return f"{value!r} is {len(value.encode())} bytes; Linux allows at most 15"
    if value in (".", "..") or not _IFNAME.match(value):
        return f"{value!r} has characters Linux or iproute2 cannot take (letters, digits, ._-@:+)"
    return None


def netns_problem(value: object) -> str | None:
    """Why a namespace reference (name, pid:N, /path, container:NAME) is unusable."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if value.startswith("pid:"):
        return None if value[4:].isdigit() else f"{value!r}: pid:N needs a number"
    if value.startswith("container:"):
        return None if _NETNS_NAME.match(value[10:]) else f"{value!r}: bad container name"
    if value.startswith("/"):
        return None if ".." not in value.split("/") else f"{value!r}: path may not contain '..'"
    return None if _NETNS_NAME.match(value) else f"{value!r} is not a namespace name"


class Checker:
    """Collects normalised inputs and failures for one resource."""

    def __init__(self, news: Mapping[str, Any]) -> None:
        self.news = news
        self.out: dict[str, Any] = {}
        self.failures: list[Failure] = []

    def fail(self, field: str, reason: str) -> None:
        self.failures.append(Failure(field=field, reason=reason))

    def _take(self, key: str, *, required: bool) -> tuple[bool, Any]:
        """(needs checking, value); copies unknowns and reports missing fields."""
        if key not in self.news or self.news[key] is None:
            if required:
                self.fail(key, "is required")
            return False, None
        value = self.news[key]
        if is_unknown(value):
            self.out[key] = value
            return False, value
        return True, value

    def host(self) -> None:
        ok, value = self._take("host", required=True)
        if not ok:
            return
        if not isinstance(value, Mapping) or not value.get("name") or not value.get("address"):
            self.fail("host", "must be a Host with a name and an address")
            return
        host = {k: value[k] for k in HOST_FIELDS if value.get(k) is not None}
        if "port" in host:
            host["port"] = int(host["port"])
        for key in ("connect_timeout", "request_timeout", "guard_timeout"):
            if key in host:
                host[key] = float(host[key])
        if "guard_timeout" in host and not 5 <= host["guard_timeout"] <= 3600:
            self.fail("host.guard_timeout", "must be between 5 and 3600 seconds")
        if "/" in str(host["name"]):
            self.fail("host.name", "may not contain '/' (it is the first part of every id)")
        self.out["host"] = host
        if self.news.get("private_key") is not None:
            self.out["private_key"] = self.news["private_key"]
        self._owner()

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
        ok, value = self._take(key, required=False)
        if not ok:
            return []
        names: list[str] = []
        for i, item in enumerate(value if isinstance(value, list | tuple) else [value]):
            problem = ifname_problem(item)
            if problem:
                self.fail(f"{key}[{i}]", problem)
            elif item in names:
                self.fail(f"{key}[{i}]", f"{item!r} is listed twice")
            else:
                names.append(item)
        self.out[key] = names
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

    def interfaces(self, key: str) -> list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
        """A list of addresses with prefix (CIDR), canonical, no duplicates."""
        ok, value = self._take(key, required=False)
        if not ok:
            return []
        found: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = []
        for i, item in enumerate(value if isinstance(value, list | tuple) else [value]):
            parsed = parse_interface(item, field=f"{key}[{i}]", checker=self)
            if parsed is None:
                continue
            if parsed in found:
                self.fail(f"{key}[{i}]", f"{item!r} is listed twice")
                continue
            found.append(parsed)
        self.out[key] = [str(a) for a in found]
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
            return default if key not in self.out else None
        if not isinstance(value, bool):
            self.fail(key, f"{value!r} is not true or false")
            return None
        self.out[key] = value
        return value

    def result(self) -> tuple[dict[str, Any], list[Failure]]:
        return self.out, self.failures


def parse_interface(
    value: object, *, field: str, checker: Checker
) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    if not isinstance(value, str) or "/" not in value:
        checker.fail(field, f"{value!r} needs a prefix length, e.g. 192.168.5.1/24")
        return None
    try:
        return ipaddress.ip_interface(value)
    except ValueError as exc:
        checker.fail(field, str(exc))
        return None
