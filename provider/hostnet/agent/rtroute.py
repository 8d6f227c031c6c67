"""Route and policy-rule requests spoken directly on a netlink socket.

pyroute2 costs about 1 ms of Python per route or rule request and more to decode
a dump; a route op of a container's fleet paid that several times. Messages are
read into ``Msg``, which answers as pyroute2's messages do for the parts hostnet
reads (``msg["table"]``, ``msg.get("RTA_OIF")``), and requests are written from
the same keyword specs pyroute2 took (``dst``, ``gateway``, ``oif``, ``priority``,
...). Errors raise OSError with the kernel's errno and words.
"""

from __future__ import annotations

import socket
import struct
from typing import TYPE_CHECKING, Any

from .rtnl import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    nla,
    nla_str,
    nla_u32,
)

if TYPE_CHECKING:  # hosts run Python 3.6: no subscripted builtins at run time
    from .rtnl import Rtnl

RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE = 32, 33, 34
RT_TABLE_COMPAT = 252  # the header's table when the real one (RTA_TABLE) is above 255
# rtmsg and fib_rule_hdr: eight bytes, then the flags.
_HEAD = struct.Struct("=BBBBBBBBI")
_ROUTE_FIELDS = ("family", "dst_len", "src_len", "tos", "table", "proto", "scope", "type")
_RULE_FIELDS = ("family", "dst_len", "src_len", "tos", "table", "res1", "res2", "action")


def _address(raw: bytes, family: int) -> str:
    return socket.inet_ntop(family, raw)


def _u32(raw: bytes, family: int) -> int:
    return int(struct.unpack("=I", raw[:4])[0])


def _u8(raw: bytes, family: int) -> int:
    return raw[0]


def _text(raw: bytes, family: int) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


# attribute type -> (pyroute2's name, decoder of its bytes given the family)
_ROUTE_ATTRS: dict[int, tuple[str, Any]] = {
    1: ("RTA_DST", _address),
    2: ("RTA_SRC", _address),
    4: ("RTA_OIF", _u32),
    5: ("RTA_GATEWAY", _address),
    6: ("RTA_PRIORITY", _u32),
    7: ("RTA_PREFSRC", _address),
    15: ("RTA_TABLE", _u32),
}
_RULE_ATTRS: dict[int, tuple[str, Any]] = {
    1: ("FRA_DST", _address),
    2: ("FRA_SRC", _address),
    3: ("FRA_IIFNAME", _text),
    6: ("FRA_PRIORITY", _u32),
    10: ("FRA_FWMARK", _u32),
    15: ("FRA_TABLE", _u32),
    16: ("FRA_FWMASK", _u32),
    17: ("FRA_OIFNAME", _text),
    21: ("FRA_PROTOCOL", _u8),
}


class Msg:
    """A route or rule as pyroute2 shows one: header fields by name, attributes
    by the kernel's names through ``get``."""

    __slots__ = ("attrs", "fields")

    def __init__(self, fields: dict[str, int], attrs: dict[str, Any]) -> None:
        self.fields = fields
        self.attrs = attrs

    def __getitem__(self, name: str) -> int:
        return self.fields[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)


def _parser(names: tuple[str, ...], table: dict[int, tuple[str, Any]]) -> Any:
    def parse(data: bytes, start: int, end: int) -> Msg:
        values = _HEAD.unpack_from(data, start)
        fields = {name: values[i] for i, name in enumerate(names)}  # no zip(strict=) on 3.6
        fields["flags"] = values[8]
        family = fields["family"]
        attrs: dict[str, Any] = {}
        at = start + _HEAD.size
        while at + 4 <= end:
            size, kind = struct.unpack_from("=HH", data, at)
            if size < 4:
                break
            known = table.get(kind & 0x3FFF)
            if known is not None:
                name, decode = known
                attrs[name] = decode(data[at + 4 : at + size], family)
            at += (size + 3) & ~3
        return Msg(fields, attrs)

    return parse


_parse_route = _parser(_ROUTE_FIELDS, _ROUTE_ATTRS)
_parse_rule = _parser(_RULE_FIELDS, _RULE_ATTRS)


def _table_parts(table: int) -> tuple[int, bytes]:
    """The header's table byte and the RTA_TABLE/FRA_TABLE attribute (both 15)."""
    return (table if table < 256 else RT_TABLE_COMPAT), nla_u32(15, table)


def route_dump(rt: Rtnl, *, family: int, table: int = 0) -> list[Msg]:
    """Every route of ``family``; the kernel keeps to ``table`` where strict
    checking is on (callers filter again for kernels without it)."""
    head, attrs = _table_parts(table) if table else (0, b"")
    body = _HEAD.pack(family, 0, 0, 0, head, 0, 0, 0, 0) + attrs
    found: list[Msg] = rt.exchange(RTM_GETROUTE, NLM_F_DUMP, body, RTM_NEWROUTE, _parse_route)
    return found


def route_get(rt: Rtnl, *, family: int, dst: str, flags: int) -> list[Msg]:
    """The kernel's answer for a lookup of ``dst`` (RTM_GETROUTE, not a dump)."""
    packed = socket.inet_pton(family, dst)
    body = _HEAD.pack(family, len(packed) * 8, 0, 0, 0, 0, 0, 0, flags) + nla(1, packed)
    found: list[Msg] = rt.exchange(RTM_GETROUTE, NLM_F_ACK, body, RTM_NEWROUTE, _parse_route)
    return found


# spec keyword -> (attribute type, how it is written)
_ADDRESS, _U32, _TEXT, _U8 = "address", "u32", "text", "u8"
_ROUTE_WRITES = {"dst": (1, _ADDRESS), "oif": (4, _U32), "gateway": (5, _ADDRESS),
                 "priority": (6, _U32), "prefsrc": (7, _ADDRESS)}  # fmt: skip
_RULE_WRITES = {"dst": (1, _ADDRESS), "src": (2, _ADDRESS), "iifname": (3, _TEXT),
                "priority": (6, _U32), "fwmark": (10, _U32), "fwmask": (16, _U32),
                "oifname": (17, _TEXT), "protocol": (21, _U8)}  # fmt: skip


def _written(spec: dict[str, Any], writes: dict[str, tuple[int, str]]) -> bytes:
    """The attributes of ``spec`` that ``writes`` names, in its order."""
    family, parts = spec["family"], []
    for key, (code, how) in writes.items():
        value = spec.get(key)
        if value is None:
            continue
        if how == _ADDRESS:
            parts.append(nla(code, socket.inet_pton(family, value)))
        elif how == _U32:
            parts.append(nla_u32(code, value))
        elif how == _TEXT:
            parts.append(nla_str(code, value))
        else:
            parts.append(nla(code, struct.pack("=B", value)))
    return b"".join(parts)


_ROUTE_COMMANDS = {
    "add": (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL),
    "replace": (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE),
    "del": (RTM_DELROUTE, 0),
}


def route(rt: Rtnl, command: str, spec: dict[str, Any]) -> None:
    """Add, replace or delete the route ``spec`` names (pyroute2's keywords:
    family, dst_len, table, priority, proto, scope, type, flags, tos, dst,
    gateway, prefsrc, oif)."""
    kind, flags = _ROUTE_COMMANDS[command]
    head, table = _table_parts(spec.get("table", 254))
    body = _HEAD.pack(
        spec["family"], spec.get("dst_len", 0), 0, spec.get("tos", 0), head,
        spec.get("proto", 0), spec.get("scope", 0), spec.get("type", 0), spec.get("flags", 0),
    )  # fmt: skip
    rt.exchange(kind, flags | NLM_F_ACK, body + table + _written(spec, _ROUTE_WRITES), 0, None)


def rule_dump(rt: Rtnl, *, family: int) -> list[Msg]:
    body = _HEAD.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
    found: list[Msg] = rt.exchange(RTM_GETRULE, NLM_F_DUMP, body, RTM_NEWRULE, _parse_rule)
    return found


def rule(rt: Rtnl, command: str, spec: dict[str, Any]) -> None:
    """Add or delete the rule ``spec`` names (pyroute2's keywords: family,
    priority, action, table, src, src_len, dst, dst_len, iifname, oifname,
    fwmark, fwmask, tos, protocol)."""
    kind, flags = (RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL) if command == "add" else (RTM_DELRULE, 0)
    head, table = _table_parts(spec["table"]) if spec.get("table") else (0, b"")
    body = _HEAD.pack(
        spec["family"], spec.get("dst_len", 0), spec.get("src_len", 0), spec.get("tos", 0), head,
        0, 0, spec.get("action", 0), 0,
    )  # fmt: skip
    rt.exchange(kind, flags | NLM_F_ACK, body + table + _written(spec, _RULE_WRITES), 0, None)
