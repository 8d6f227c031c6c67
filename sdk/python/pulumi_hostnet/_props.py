"""From typed ``*Args`` dataclasses to the plain props a dynamic resource sends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_hostnet.host import Host


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def resource_props(args: Any, *, outputs: Iterable[str]) -> dict[str, Any]:
    """Inputs from ``args`` (the host expanded, unset fields left out) plus outputs.

    Every output is declared as None so Pulumi exposes it as an attribute.
    A fresh dict each call: Pulumi adds ``__provider`` to the one it is given.
    """
    props: dict[str, Any] = {}
    for f in dataclasses.fields(args):
        value = getattr(args, f.name)
        if isinstance(value, Host):
            props.update(value.props())
        elif value is not None:
            props[f.name] = _plain(value)
    for name in outputs:
        props.setdefault(name, None)
    props["resource_id"] = None
    return props
