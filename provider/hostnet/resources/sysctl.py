"""A kernel setting (``net.ipv4.conf.all.forwarding=1``) on a host or in a namespace.

The value found before the first write is recorded on the host and put back on
delete, so ``pulumi destroy`` leaves the setting as it was.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import FieldPolicy, Kind, Plan, Spec, Step, register
from hostnet.resources._readback import read_or_none
from hostnet.validate import Checker, Failure

NAME = "sysctl"
WHAT = "setting"
POLICY = FieldPolicy(replace=frozenset({"host", "netns", "key"}), update=frozenset({"value"}))
_KEY = re.compile(r"[a-z0-9_]+(\.[A-Za-z0-9_@+-]+)+")


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    c.netns()
    if news.get("key") is None:
        c.fail("key", "is required (a dotted name like net.ipv4.ip_forward)")
    elif c.known("key"):
        key = news["key"]
        if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > 200:
            c.fail("key", f"{key!r} is not a dotted sysctl name like net.ipv4.ip_forward")
        else:
            c.out["key"] = key
    if news.get("value") is None:
        c.fail("value", "is required")
    elif c.known("value"):
        _check_value(c, news["value"])
    return c.result()


def _check_value(c: Checker, value: Any) -> None:
    if isinstance(value, bool | Mapping | list):
        c.fail("value", "must be a string or a number")
        return
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if not text.strip() or any(ch in text for ch in "\n\r\0"):
        c.fail("value", f"{text!r} must be one non-empty line")
    elif len(text) > 4096:
        c.fail("value", f"is {len(text)} characters; the kernel takes at most 4096")
    else:
        c.out["value"] = text.strip()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(
        host=inputs["host"]["name"], kind=NAME, name=inputs["key"], netns=inputs.get("netns")
    )


def _same(found: str | None, wanted: str) -> bool:
    # The kernel prints multi-value settings with tabs (ip_local_port_range).
    return found is not None and found.split() == wanted.split()


def observe(agent: Agent, spec: Spec) -> dict[str, Any] | None:
    found: dict[str, Any] | None = read_or_none(
        agent, "sysctl_read_owned", netns=spec.get("netns"), key=spec["key"]
    )
    return found


def plan(spec: Spec, observed: dict[str, Any] | None, _olds: Spec) -> Plan:
    write = Op(
        op="sysctl_write",
        args={
            "netns": spec.get("netns"),
            "key": spec["key"],
            "value": spec["value"],
            **claim(spec, rid=spec["resource_id"]),
        },
    )
    # The write records the value it replaces; undone, that value goes back. A
    # record that was there (this stack's, renamed or replaced) is taken over and
    # keeps the value found before its first write, so a failed create leaves it.
    recorded = observed is not None and observed.get("owner") is not None
    return Plan(steps=(Step(op=write, undo=() if recorded else tuple(retire(spec))),))


def settle(spec: Spec, results: list[Any], olds: Spec) -> dict[str, Any]:
    """The outputs to read back: the value found before the first write is the
    one delete restores, so an update keeps the one its create recorded."""
    previous = results[0].get("previous") if results else None
    return {**spec, "previous": olds.get("previous", previous)}


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    found = read_or_none(agent, "sysctl_read_owned", netns=outputs.get("netns"), key=outputs["key"])
    if found is None or not is_mine(found["owner"], outputs, rid=rid):
        return None  # gone, or another resource's now (renamed, replaced, adopted)
    value = found["value"]
    wanted = str(outputs.get("value", ""))
    return {**outputs, "resource_id": rid, "value": wanted if _same(value, wanted) else value}


def retire(spec: Spec) -> list[Op]:
    own = claim(spec, rid=spec["resource_id"])
    return [Op(op="sysctl_restore", args={"netns": spec.get("netns"), "key": spec["key"], **own})]


KIND = register(Kind.of(sys.modules[__name__]))
