"""A named network namespace on one host (``ip netns add``).

Marked as hostnet's by the alias of its loopback; a namespace of that name
without the mark (made by hand, by a container runtime) is never deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import (
    Failure,
    FieldPolicy,
    create_and_update,
    delete_quietly,
    note_made,
    verified,
)
from hostnet.validate import Checker

KIND = "netns"
POLICY = FieldPolicy(replace=frozenset({"host", "name"}), update=frozenset())


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news)
    c.host()
    name = c.netns("name")
    if "name" not in news:
        c.fail("name", "is required")
    elif name is not None and (":" in name or name.startswith("/")):
        c.fail("name", f"{name!r}: a namespace to create needs a plain name")
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(host=inputs["host"]["name"], kind=KIND, name=inputs["name"])


def _apply(
    agent: Agent, rid: str, inputs: Mapping[str, Any], _olds: Mapping[str, Any]
) -> dict[str, Any]:
    if agent.call("netns_ensure", name=inputs["name"], **claim(inputs, rid=rid))["created"]:
        note_made()
    observed = read(agent, {**inputs, "resource_id": rid})
    return verified(observed, rid=rid, inputs=inputs, fields=(), what="namespace")


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    found = agent.call("netns_read", name=outputs["name"])
    if found is None or not is_mine(found.get("owner"), outputs, rid=rid):
        return None
    return {**outputs, "resource_id": rid}


def delete(agent: Agent, outputs: Mapping[str, Any]) -> None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    own = claim(outputs, rid=rid)
    delete_quietly(agent, [Op(op="netns_delete", args={"name": outputs["name"], **own})], rid=rid)


create, update = create_and_update(make_id_for=make_id_for, apply=_apply, delete=delete)
