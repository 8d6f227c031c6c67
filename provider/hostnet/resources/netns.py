"""A named network namespace on one host (``ip netns add``).

Marked as hostnet's by the alias of its loopback; a namespace of that name
without the mark (made by hand, by a container runtime) is never deleted.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import FieldPolicy, Kind, Plan, Spec, Step, register
from hostnet.validate import Checker, Failure

NAME = "netns"
WHAT = "namespace"
POLICY = FieldPolicy(replace=frozenset({"host", "name"}), update=frozenset())


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    name = c.netns("name")
    if news.get("name") is None:
        c.fail("name", "is required")
    elif name is not None and (":" in name or name.startswith("/")):
        c.fail("name", f"{name!r}: a namespace to create needs a plain name")
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(host=inputs["host"]["name"], kind=NAME, name=inputs["name"])


def observe(agent: Agent, spec: Spec) -> dict[str, Any] | None:
    found: dict[str, Any] | None = agent.call("netns_read", name=spec["name"])
    return found


def plan(spec: Spec, observed: dict[str, Any] | None, _olds: Spec) -> Plan:
    own = claim(spec, rid=spec["resource_id"])
    ensure = Op(op="netns_ensure", args={"name": spec["name"], **own})
    # A namespace that was there (this stack's, renamed or replaced) is taken
    # over by the agent's claim rule and stays if this create fails.
    undo = () if observed is not None else tuple(retire(spec))
    return Plan(steps=(Step(op=ensure, undo=undo),))


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    found = agent.call("netns_read", name=outputs["name"])
    if found is None or not is_mine(found.get("owner"), outputs, rid=rid):
        return None
    return {**outputs, "resource_id": rid}


def retire(spec: Spec) -> list[Op]:
    own = claim(spec, rid=spec["resource_id"])
    return [Op(op="netns_delete", args={"name": spec["name"], **own})]


KIND = register(Kind.of(sys.modules[__name__]))
