"""What a stack declares: its hostnet resources, read from ``pulumi stack export``.

Every hostnet resource's outputs embed its inputs, the host's connection
settings included, so the export alone says which hosts to read and how to log
in. Secrets (a private key) are needed in plain text for that, hence
``--show-secrets``; they never leave this process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hostnet.hosts import connection_from
from hostnet.resources import KINDS
from hostnet.stackjson import pulumi_json
from hostnet.transport import Connection

# The SDK's Resource classes: ``class Bridge(Resource, module="hostnet", name="Bridge")``.
TYPE_PREFIX = "pulumi-python:dynamic/hostnet:"
KIND_OF_TYPE = {kind.class_name: kind.name for kind in KINDS.values()}


@dataclass(frozen=True, kw_only=True)
class Declared:
    """One hostnet resource of the stack: its kind, id on the host and outputs."""

    urn: str
    name: str
    kind: str
    rid: str
    host: str
    outputs: Mapping[str, Any]


def declared(export: Mapping[str, Any]) -> list[Declared]:
    """The hostnet resources of a ``pulumi stack export`` document, in state order."""
    found = []
    for res in (export.get("deployment") or {}).get("resources") or []:
        rtype = str(res.get("type", ""))
        kind = (
            KIND_OF_TYPE.get(rtype.removeprefix(TYPE_PREFIX))
            if rtype.startswith(TYPE_PREFIX)
            else None
        )
        outputs = {k: v for k, v in (res.get("outputs") or {}).items() if k != "__provider"}
        if kind is None or res.get("delete") or not isinstance(outputs.get("host"), Mapping):
            continue
        urn = str(res["urn"])
        found.append(
            Declared(
                urn=urn,
                name=urn.rsplit("::", 1)[-1],
                kind=kind,
                rid=str(outputs.get("resource_id") or res.get("id") or urn),
                host=str(outputs["host"]["name"]),
                outputs=outputs,
            )
        )
    return found


def connections(resources: list[Declared]) -> dict[str, Connection]:
    """One connection per host name; a resource whose state pinned the host's key
    (trust on first use) is preferred, so the key seen then is required now."""
    found: dict[str, Connection] = {}
    for res in sorted(resources, key=lambda r: not r.outputs["host"].get("host_key")):
        if res.host not in found:
            found[res.host] = connection_from(res.outputs)
    return found


def addresses(resources: list[Declared]) -> dict[str, str]:
    """Each host's management address, for the host's label."""
    return {r.host: str(r.outputs["host"].get("address", "")) for r in resources}


def export_stack(*, stack: str | None, cwd: str | None) -> dict[str, Any]:
    """``pulumi stack export --show-secrets``, parsed; any backend the CLI is logged in to."""
    return pulumi_json(
        "stack", "export", "--show-secrets", stack=stack, cwd=cwd, who="hostnet graph"
    )
