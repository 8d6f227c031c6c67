"""Which resource instance owns what a resource makes on a host, as agent op args.

The SDK gives every resource a hidden input ``owner`` = {stack: "<project>/<stack>",
resource: "<logical name>"}; create adds a fresh ``token``, kept in the outputs for
the life of the resource (updates keep it). The agent writes all three into the
object's mark and decides every claim (agent/owner.py): this instance's objects
are its own, another instance's of the same stack is taken over (a rename, a
replacement, a run that died after creating), anything else is refused unless the
resource says ``adopt``.

State written before instance ownership has no token: its objects carry their id
as mark. Such a resource's next update makes a token and passes the id as
``legacy``, so the agent moves the object to the new mark; until then reads and
deletes use the id, as they did.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from hostnet.agent import owner

OWNER = "owner"
ADOPT = "adopt"
_FIELDS = ("stack", "resource", "token")


def new_token() -> str:
    return secrets.token_hex(6)


def token_of(props: Mapping[str, Any]) -> str | None:
    owner = props.get(OWNER)
    token = owner.get("token") if isinstance(owner, Mapping) else None
    return token if isinstance(token, str) else None


def with_token(
    inputs: Mapping[str, Any], *, token: str | None, legacy: str | None = None
) -> dict[str, Any]:
    """``inputs`` whose owner carries ``token`` (and, once, the ``legacy`` id to take)."""
    owner = inputs.get(OWNER)
    if not isinstance(owner, Mapping) or token is None:
        return dict(inputs)
    stamped = {**{k: owner.get(k) for k in ("stack", "resource")}, "token": token}
    if legacy:
        stamped["legacy"] = legacy
    return {**inputs, OWNER: stamped}


def settled(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs as stored: the one-off legacy id dropped from the owner."""
    owner = outputs.get(OWNER)
    if not isinstance(owner, Mapping) or "legacy" not in owner:
        return dict(outputs)
    return {**outputs, OWNER: {k: v for k, v in owner.items() if k != "legacy"}}


def as_given(props: Mapping[str, Any]) -> dict[str, Any]:
    """``props`` with the owner as the SDK gives it (stack and resource, no token):
    the inputs a read returns, so that the state keeps the program's inputs and the
    next update shows only what the program changed, not ``~owner``."""
    owner = props.get(OWNER)
    if not isinstance(owner, Mapping):
        return dict(props)
    return {**props, OWNER: {k: owner[k] for k in ("stack", "resource") if k in owner}}


def claim(props: Mapping[str, Any], *, rid: str) -> dict[str, Any]:
    """The ``owner``/``legacy``/``adopt`` args of an agent op made for ``props``."""
    owner = props.get(OWNER)
    if token_of(props) is None or not isinstance(owner, Mapping):
        return {"owner": rid}  # state from before instance ownership: the id is the mark
    args: dict[str, Any] = {"owner": {k: owner[k] for k in _FIELDS}}
    if owner.get("legacy"):
        args["legacy"] = owner["legacy"]
    if props.get(ADOPT):
        args["adopt"] = True
    return args


def is_mine(found: Mapping[str, Any] | None, props: Mapping[str, Any], *, rid: str) -> bool:
    """Whether an owner the agent reported (OWNER in its protocol) is ``props``'s,
    by the agent's own claim rule (agent/owner.py), so both sides agree."""
    if not isinstance(found, Mapping):
        return False
    if token_of(props) is None and found.get("id") == "":
        return True  # a hostnet route from before instance ownership has no record
    me = owner.from_arg("read", claim(props, rid=rid)["owner"])
    seen = owner.Owner(**{k: found.get(k) for k in ("token", "stack", "resource", "id")})
    return owner.Claim(me=me).mine(seen)


def kept_notes(results: list[Any], *, rid: str) -> list[str]:
    """What deletes left because another resource owns it now, as log lines; once
    per owner, though a resource of several objects (a router's namespace and
    legs) has each of them left."""
    notes = (
        f"{rid}: left on the host: it belongs to {r['kept']}"
        for r in results
        if isinstance(r, Mapping) and r.get("kept")
    )
    return list(dict.fromkeys(notes))
