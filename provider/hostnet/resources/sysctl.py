"""A kernel setting (``net.ipv4.conf.all.forwarding=1``) on a host or in a namespace.

The value found before the first write is recorded on the host and put back on
delete, so ``pulumi destroy`` leaves the setting as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import (
    Failure,
    FieldPolicy,
    create_or_undo,
    delete_quietly,
    note_made,
    read_or_none,
)
from hostnet.validate import Checker

KIND = "sysctl"
POLICY = FieldPolicy(replace=frozenset({"host", "netns", "key"}), update=frozenset({"value"}))
_KEY = re.compile(r"^[a-z0-9_]+(\.[A-Za-z0-9_:@+-]+)+$")


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news)
    c.host()
    c.netns()
    key, value = news.get("key"), news.get("value")
    if not isinstance(key, str) or not _KEY.match(key):
        c.fail("key", f"{key!r} is not a dotted sysctl name like net.ipv4.ip_forward")
    else:
        c.out["key"] = key
    if value is None or isinstance(value, bool | Mapping | list):
        c.fail("value", "must be a string or a number")
    else:
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        if "\n" in text or not text.strip():
            c.fail("value", "must be one non-empty line")
        c.out["value"] = text.strip()
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(
        host=inputs["host"]["name"], kind=KIND, name=inputs["key"], netns=inputs.get("netns")
    )


def _same(found: str | None, wanted: str) -> bool:
    # The kernel prints multi-value settings with tabs (ip_local_port_range).
    return found is not None and found.split() == wanted.split()


def _apply(agent: Agent, rid: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    result = agent.call(
        "sysctl_write",
        netns=inputs.get("netns"),
        key=inputs["key"],
        value=inputs["value"],
        **claim(inputs, rid=rid),
    )
    if result.get("created"):
        note_made()
    observed = read(agent, {**inputs, "resource_id": rid, "previous": result.get("previous")})
    if observed is None or not _same(observed["value"], inputs["value"]):
        raise errors.VerifyFailed(f"{rid}: the kernel kept another value")
    return {**observed, "value": inputs["value"]}


def create(agent: Agent, inputs: Mapping[str, Any]) -> dict[str, Any]:
    rid = make_id_for(inputs)
    return create_or_undo(lambda: _apply(agent, rid, inputs), lambda: delete(agent, inputs))


def update(agent: Agent, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
    outs = _apply(agent, olds.get("resource_id") or make_id_for(news), news)
    outs["previous"] = olds.get("previous", outs.get("previous"))
    return outs


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    found = read_or_none(agent, "sysctl_read_owned", netns=outputs.get("netns"), key=outputs["key"])
    if found is None or not is_mine(found["owner"], outputs, rid=rid):
        return None  # gone, or another resource's now (renamed, replaced, adopted)
    value = found["value"]
    wanted = str(outputs.get("value", ""))
    return {**outputs, "resource_id": rid, "value": wanted if _same(value, wanted) else value}


def delete(agent: Agent, outputs: Mapping[str, Any]) -> None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    delete_quietly(
        agent,
        [
            Op(
                op="sysctl_restore",
                args={
                    "netns": outputs.get("netns"),
                    "key": outputs["key"],
                    **claim(outputs, rid=rid),
                },
            )
        ],
        rid=rid,
    )
