"""The claims format ``hostnet verify`` reads: what a stack says about its network's
connectivity, exported as one stack output any program can build.

A stack exports ``hostnet:claims``::

    {
      "version": 1,
      "hosts": {"h1": <pulumi_hostnet.program.verify_connection(host)>, ...},
      "claims": [
        {"from": {"host": "h1", "netns": "blue"},          # netns: omit for the host itself
         "to": {"address": "192.168.6.3", "port": 22},     # no port: a ping ("size": bytes)
         "expect": "ok",                                   # or "blocked"
         "why": "h1's blue namespace reaches h3's sshd"},  # optional from here on
        ...
      ],
      "earlier": [<claims>]
    }

A claim is probed by the agent on ``from.host`` (reached as ``hosts`` says), inside
``from.netns``: a TCP connect to ``to.address:to.port``, or a ping of
``to.address`` (``to.size`` bytes of payload). ``expect`` says whether it must
work (``ok``) or must fail (``blocked``). Optional: ``banner`` (the line the far
end must answer with: a service that echoes the caller's address proves NAT; on
port 22 an SSH banner is required anyway), ``why`` (printed with a failure),
``name`` (the source as the matrix shows it; default ``HOST`` or ``HOST/NETNS``),
``milestone`` (a number printed with a failure). Other keys are kept and shown by
``--json``. ``earlier`` (optional) holds claims of earlier states of the stack
for ``hostnet verify --sweep``; one carrying ``given_up: {milestone, why}`` is
listed as given up, not probed.

The older form, the outputs ``matrix`` (claims in hostnet's internal shape below)
and ``connections``, is still read when ``hostnet:claims`` is absent.

Internally a claim is a dict with ``source`` (the name shown), ``host``, ``netns``,
``kind`` (``tcp`` or ``ping``), ``address``, ``port``, ``size``, ``expect``,
``banner``, ``why``, ``milestone`` and the claim's other keys.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hostnet import errors

OUTPUT = "hostnet:claims"
VERSION = 1
LEGACY_MATRIX, LEGACY_CONNECTIONS, LEGACY_EARLIER = "matrix", "connections", "earlier"
EXPECT = ("ok", "blocked")
_OWN_KEYS = {"from", "to", "expect", "banner", "why", "name", "milestone"}


@dataclass(frozen=True, kw_only=True)
class Claims:
    """What a stack's outputs give ``hostnet verify``."""

    claims: list[dict[str, Any]]
    connections: Mapping[str, Any]  # host name -> its connection settings
    earlier: list[dict[str, Any]] | None  # None: the stack exports none


def exported(outputs: Mapping[str, Any]) -> bool:
    """Whether the outputs hold claims in either form."""
    return OUTPUT in outputs or LEGACY_MATRIX in outputs


def read(outputs: Mapping[str, Any]) -> Claims:
    """The claims of a stack's outputs; InvalidInput naming the field if malformed."""
    if OUTPUT not in outputs:
        earlier = outputs.get(LEGACY_EARLIER)
        return Claims(
            claims=[dict(c) for c in outputs.get(LEGACY_MATRIX) or []],
            connections=outputs.get(LEGACY_CONNECTIONS) or {},
            earlier=None if earlier is None else [dict(c) for c in earlier],
        )
    raw = _mapping(outputs[OUTPUT], OUTPUT)
    if raw.get("version") != VERSION:
        raise errors.InvalidInput(
            f"{OUTPUT}.version", f"{raw.get('version')!r} is not {VERSION}, the format read here"
        )
    connections = _mapping(raw.get("hosts"), f"{OUTPUT}.hosts")
    earlier = raw.get("earlier")
    return Claims(
        claims=_claim_list(raw.get("claims"), f"{OUTPUT}.claims", connections),
        connections=connections,
        earlier=None if earlier is None else _claim_list(earlier, f"{OUTPUT}.earlier", None),
    )


def _claim_list(
    value: object, field: str, connections: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise errors.InvalidInput(field, "must be a list of claims")
    return [claim(item, f"{field}[{i}]", connections) for i, item in enumerate(value)]


def claim(value: object, field: str, connections: Mapping[str, Any] | None) -> dict[str, Any]:
    """One claim of the format, checked, in the internal shape. ``connections``:
    the hosts a claim may start from (None: any, for claims that are not probed)."""
    raw = _mapping(value, field)
    source = _mapping(raw.get("from"), f"{field}.from")
    target = _mapping(raw.get("to"), f"{field}.to")
    host = _text(source.get("host"), f"{field}.from.host")
    if connections is not None and host not in connections:
        raise errors.InvalidInput(f"{field}.from.host", f"{host!r} is not in {OUTPUT}.hosts")
    netns = _optional_text(source.get("netns"), f"{field}.from.netns")
    address = _text(target.get("address"), f"{field}.to.address")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise errors.InvalidInput(
            f"{field}.to.address", f"{address!r} is not an IP address"
        ) from None
    port = _optional_int(target.get("port"), f"{field}.to.port", low=1, high=65535)
    size = _optional_int(target.get("size"), f"{field}.to.size", low=0, high=65507)
    if port is not None and size is not None:
        raise errors.InvalidInput(f"{field}.to.size", "is for a ping; a claim with a port connects")
    expect = raw.get("expect")
    if expect not in EXPECT:
        raise errors.InvalidInput(f"{field}.expect", f"{expect!r} is not one of {list(EXPECT)}")
    name = _optional_text(raw.get("name"), f"{field}.name")
    return {
        **{k: v for k, v in raw.items() if k not in _OWN_KEYS},
        "source": name or (f"{host}/{netns}" if netns else host),
        "host": host,
        "netns": netns,
        "kind": "ping" if port is None else "tcp",
        "address": address,
        "port": port,
        "size": size,
        "expect": expect,
        "banner": _optional_text(raw.get("banner"), f"{field}.banner"),
        "why": _optional_text(raw.get("why"), f"{field}.why") or "",
        "milestone": _optional_int(raw.get("milestone"), f"{field}.milestone", low=0, high=None),
    }


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise errors.InvalidInput(field, f"must be an object, not {type(value).__name__}")
    return value


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise errors.InvalidInput(field, "must be a non-empty string")
    return value


def _optional_text(value: object, field: str) -> str | None:
    return None if value is None else _text(value, field)


def _optional_int(value: object, field: str, *, low: int, high: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidInput(field, f"{value!r} is not a whole number")
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f"{low} or more"
        raise errors.InvalidInput(field, f"{value} is outside {bounds}")
    return value
