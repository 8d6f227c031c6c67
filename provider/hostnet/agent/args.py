"""Typed access to an op's ``args`` object; every violation is an Invalid error."""

from __future__ import annotations

import ipaddress
from typing import Any

from .errors import Invalid
from .owner import Claim, from_arg


class Args:
    """The arguments of one op. Absent and null are the same, as for the transport."""

    def __init__(self, op: str, raw: dict[str, Any]) -> None:
        self.op = op
        self._raw = raw

    def has(self, key: str) -> bool:
        return self._raw.get(key) is not None

    def present(self, key: str) -> bool:
        """Given at all, even as null (``master: null`` means "no master")."""
        return key in self._raw

    def raw(self, key: str) -> Any:
        return self._raw.get(key)

    def _bad(self, key: str, why: str) -> Invalid:
        return Invalid(f"{self.op}: argument {key!r} {why}")

    def text(self, key: str) -> str:
        value = self.opt_text(key)
        if value is None:
            raise self._bad(key, "is required")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value or "\n" in value or "\0" in value:
            raise self._bad(key, "must be a non-empty one-line string")
        return value

    def integer(
        self, key: str, *, default: int | None = None, lo: int = 0, hi: int = 2**32 - 1
    ) -> int:
        value = self.opt_integer(key, lo=lo, hi=hi)
        if value is None:
            if default is None:
                raise self._bad(key, "is required")
            return default
        return value

    def opt_integer(self, key: str, *, lo: int = 0, hi: int = 2**32 - 1) -> int | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self._bad(key, f"must be an integer in [{lo}, {hi}]")
        return value

    def number(self, key: str, *, default: float) -> float:
        value = self._raw.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self._bad(key, "must be a positive number")
        return float(value)

    def opt_flag(self, key: str) -> bool | None:
        value = self._raw.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._bad(key, "must be true or false")

    def flag(self, key: str, *, default: bool) -> bool:
        value = self.opt_flag(key)
        return default if value is None else value

    def ifname(self, key: str = "ifname") -> str:
        value = self.opt_ifname(key)
        if value is None:
            raise self._bad(key, "is required")
        return value

    def opt_ifname(self, key: str) -> str | None:
        value = self.opt_text(key)
        if value is None:
            return None
        if len(value.encode()) > 15 or value in (".", "..") or any(c in value for c in "/: \t"):
            raise self._bad(key, f"is not a valid interface name: {value!r}")
        return value

    def claim(self) -> Claim:
        """Who asks (``owner``), its ``legacy`` id, and whether it may ``adopt``."""
        return Claim(
            me=from_arg(self.op, self._raw.get("owner")),
            legacy=self.opt_text("legacy"),
            adopt=self.flag("adopt", default=False),
        )

    def ref(self, key: str = "netns") -> str | None:
        """A namespace reference; parsed by nsref.resolve."""
        return self.opt_text(key)

    def interface(self, key: str) -> str:
        """An address with prefix, canonical ("192.168.5.1/24"); no prefix means /32 or /128."""
        value = self.text(key)
        return canonical_interface(value, self._bad(key, f"is not an address/prefix: {value!r}"))

    def interfaces(self, key: str) -> list[str]:
        value = self._raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(key, "must be a list of address/prefix strings")
        return [
            canonical_interface(v, self._bad(key, f"holds a bad address/prefix: {v!r}"))
            for v in value
        ]

    def address(self, key: str) -> str:
        value = self.text(key)
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise self._bad(key, f"is not an IP address: {value!r}") from None

    def opt_address(self, key: str) -> str | None:
        return self.address(key) if self.has(key) else None

    def tokens(self, key: str) -> list[str]:
        value = self._raw.get(key)
        if not isinstance(value, list) or not value:
            raise self._bad(key, "must be a non-empty list of strings")
        for token in value:
            if not isinstance(token, str) or not token or set(token) & set('\n\r\0"\\'):
                raise self._bad(key, f"holds a bad token: {token!r}")
        return list(value)


def canonical_interface(value: Any, error: Invalid) -> str:
    if not isinstance(value, str):
        raise error
    try:
        return str(ipaddress.ip_interface(value))
    except ValueError:
        raise error from None
