"""The engine's event stream, as `pulumi up|refresh|destroy --json` prints it:
one JSON object per line, per resource step (pre, outputs, failed) and per
diagnostic."""

from __future__ import annotations

import json
from typing import Any


def parse(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def name(urn: str) -> str:
    """The resource's logical name, the last part of its URN."""
    return urn.rsplit("::", 1)[1]


def urns(events: list[dict[str, Any]], kind: str) -> set[str]:
    """URNs of the events of one kind (``resOutputsEvent``: steps that finished,
    ``resOpFailedEvent``: steps that failed)."""
    return {e[kind]["metadata"]["urn"] for e in events if kind in e}


def errors(events: list[dict[str, Any]]) -> dict[str, str]:
    """The last line of each resource's error: the provider's own message, after
    the traceback the provider host prints."""
    found = {}
    for e in events:
        diag = e.get("diagnosticEvent")
        if diag and diag.get("severity") == "error" and diag.get("urn"):
            lines = [line for line in diag["message"].splitlines() if line.strip()]
            found[diag["urn"]] = lines[-1].strip() if lines else ""
    return found
