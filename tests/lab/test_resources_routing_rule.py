"""RoutingRule against lab hosts over real SSH: idempotence, update, drift, foreign
rules (and the kernel's own) untouched, failed creates leave nothing, and a
Route in the rule's table doing what the rule says. Rules select 198.18.0.0/15
and use priorities 1000-1999, which no lab path uses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hostnet import errors, ownership
from hostnet.resources import route, routing_rule
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab
KERNEL_RULES = [
    "0:\tfrom all lookup local",
    "32766:\tfrom all lookup main",
    "32767:\tfrom all lookup default",
]


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _priority(stem: str) -> int:
    return 1000 + rl.spare_octet(stem)


def _src(stem: str) -> str:
    return f"{rl.SPARE_NET}.{rl.spare_octet(stem)}.0/24"


def _inputs(lab: LabInfo, stem: str, **fields: Any) -> dict[str, Any]:
    news = {
        "host": rl.host_input(lab, "h2"),
        "priority": _priority(stem),
        "src": _src(stem),
        "table": 1000 + rl.spare_octet(stem),
    }
    return rl.checked("rule", {**news, **fields})


def rules(host: str, netns: str | None = None) -> list[str]:
    """``ip rule`` lines of both families, as printed."""
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    v4 = rl.run(host, *prefix, "-4", "rule", "show").splitlines()
    v6 = rl.run(host, *prefix, "-6", "rule", "show").splitlines()
    return [line.strip() for line in v4 + [f"v6 {x}" for x in v6] if line.strip()]


def _state(netns: str | None = None) -> dict[str, Any]:
    return {**rl.snapshot("h2"), "rules": rules("h2", netns)}


@pytest.mark.parametrize("where", ["host", "netns"])
def test_create_twice_changes_nothing(lab: LabInfo, cleanup: rl.Cleanup, where: str) -> None:
    stem = rl.uid()
    ns = None
    if where == "netns":
        ns = stem + "ns"
        rl.run("h2", "ip", "netns", "add", ns)
        cleanup.delete_netns("h2", ns)
    inputs = _inputs(lab, stem, netns=ns, iif="lo", fwmark=7, tos=16)
    cleanup.delete_resource("rule", inputs)
    agent = rl.agent_for(inputs)

    first = routing_rule.KIND.create(agent, inputs)
    assert first["resource_id"] == routing_rule.make_id_for(inputs)
    table = 1000 + rl.spare_octet(stem)
    want = (
        f"{_priority(stem)}:\tfrom {_src(stem)} tos 0x10 fwmark 0x7 iif lo lookup {table} proto 77"
    )
    assert want in rules("h2", ns)
    before = _state(ns)
    assert routing_rule.KIND.create(agent, inputs) == first
    rl.assert_same(before, _state(ns))


def test_delete_twice_succeeds(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    inputs = _inputs(lab, stem)
    cleanup.delete_resource("rule", inputs)
    agent = rl.agent_for(inputs)
    before = _state()
    outputs = routing_rule.KIND.create(agent, inputs)
    routing_rule.KIND.delete(agent, outputs)
    routing_rule.KIND.delete(agent, outputs)
    rl.assert_same(before, _state())
    assert [line for line in rules("h2") if not line.startswith("v6")] == KERNEL_RULES


def test_update_in_place_keeps_one_rule(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    inputs = _inputs(lab, stem)
    cleanup.delete_resource("rule", inputs)
    agent = rl.agent_for(inputs)
    outputs = routing_rule.KIND.create(agent, inputs)
    news = _inputs(lab, stem, action="unreachable", table=None, dst="198.19.0.0/16")
    updated = routing_rule.KIND.update(agent, outputs, news)
    assert updated["action"] == "unreachable" and updated["resource_id"] == outputs["resource_id"]
    mine = [line for line in rules("h2") if line.startswith(f"{_priority(stem)}:")]
    assert mine == [f"{_priority(stem)}:\tfrom {_src(stem)} to 198.19.0.0/16 unreachable proto 77"]


def test_read_reports_changes_made_by_hand(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    inputs = _inputs(lab, stem)
    prio, src = str(_priority(stem)), _src(stem)
    cleanup.delete_resource("rule", inputs)
    agent = rl.agent_for(inputs)
    outputs = routing_rule.KIND.create(agent, inputs)
    assert routing_rule.read(agent, outputs) == outputs

    rl.run("h2", "ip", "rule", "del", "priority", prio)
    rl.run("h2", "ip", "rule", "add", "priority", prio, "from", src, "lookup", "7", "proto", "77")
    drifted = routing_rule.read(agent, outputs)
    assert drifted is not None and drifted["table"] == 7
    repaired = routing_rule.KIND.update(agent, drifted, inputs)
    assert repaired == outputs
    # Made again by hand without hostnet's protocol: no longer hostnet's rule.
    rl.run("h2", "ip", "rule", "del", "priority", prio)
    rl.run("h2", "ip", "rule", "add", "priority", prio, "from", src, "lookup", "7")
    cleanup.add(lambda: rl.run_quietly("h2", "ip", "rule", "del", "priority", prio))
    assert routing_rule.read(agent, outputs) is None


def test_foreign_rules_are_never_touched(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    prio, src = str(_priority(stem)), _src(stem)
    inputs = _inputs(lab, stem)
    # The same rule made by hand: hostnet refuses to add its twin, and changes nothing.
    rl.run("h2", "ip", "rule", "add", "priority", prio, "from", src, "lookup", str(inputs["table"]))
    cleanup.add(lambda: rl.run_quietly("h2", "ip", "rule", "del", "priority", prio))
    cleanup.delete_resource("rule", inputs)
    agent = rl.agent_for(inputs)
    before = _state()
    with pytest.raises(errors.AgentError) as refused:
        routing_rule.KIND.create(agent, inputs)
    assert refused.value.kind == "Exists"
    rl.assert_same(before, _state())
    # A different rule at the same priority: both live, delete removes only hostnet's.
    outputs = routing_rule.KIND.create(agent, _inputs(lab, stem, dst="198.19.0.0/16"))
    assert len([line for line in rules("h2") if line.startswith(f"{prio}:")]) == 2
    routing_rule.KIND.delete(agent, outputs)
    rl.assert_same(before, _state())
    routing_rule.KIND.delete(agent, inputs)
    rl.assert_same(before, _state())


def test_a_rule_belongs_to_its_resource_instance(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    prio = f"{_priority(stem)}:"

    def instance(stack: str, resource: str, token: str) -> dict[str, Any]:
        owner = {"stack": stack, "resource": resource}
        return ownership.with_token(_inputs(lab, stem, owner=owner), token=token)

    first = instance("seed/lab", "r1", "000000000001")
    renamed = instance("seed/lab", "r2", "000000000002")
    other = instance("seed/prod", "r1", "000000000003")
    cleanup.delete_resource("rule", renamed)
    cleanup.delete_resource("rule", first)
    agent = rl.agent_for(first)
    made = routing_rule.KIND.create(agent, first)
    # Another stack's resource is refused, and its delete leaves the rule.
    with pytest.raises(errors.NotOwned, match="seed/lab"):
        routing_rule.KIND.create(agent, other)
    routing_rule.KIND.delete(agent, other)
    assert routing_rule.read(agent, made) == made
    # A renamed resource of the same stack takes the rule over; the old instance's
    # delete then finds nothing of its own.
    taken = routing_rule.KIND.create(agent, renamed)
    assert routing_rule.read(agent, made) is None
    routing_rule.KIND.delete(agent, made)
    assert len([line for line in rules("h2") if line.startswith(prio)]) == 1
    routing_rule.KIND.delete(agent, taken)
    assert not [line for line in rules("h2") if line.startswith(prio)]


def test_the_kernel_rules_are_out_of_reach(lab: LabInfo) -> None:
    for priority in (0, 32766, 32767):
        _, failures = routing_rule.check(
            {"host": rl.host_input(lab, "h2"), "priority": priority, "table": 254}
        )
        assert [f.field for f in failures] == ["priority"], failures
    agent = rl.agent_for(_inputs(lab, rl.uid()))
    before = _state()
    for priority in (0, 32766, 32767):
        with pytest.raises(errors.AgentError) as refused:
            agent.call("rule_delete", priority=priority, family=4)
        assert refused.value.kind == "Invalid"
    rl.assert_same(before, _state())


def test_failed_creates_leave_nothing_behind(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    agent = rl.agent_for(_inputs(lab, stem))
    before = _state()
    missing = _inputs(lab, stem, netns=stem + "nons")
    cleanup.delete_resource("rule", missing)
    with pytest.raises(errors.AgentError) as failed:
        routing_rule.KIND.create(agent, missing)
    assert failed.value.kind == "NotFound"
    rl.assert_same(before, _state())
    # The agent refuses what check would have refused, before any change.
    with pytest.raises(errors.AgentError) as invalid:
        agent.call("rule_ensure", priority=_priority(stem), src="198.18.0.1/8", action="table")
    assert invalid.value.kind == "Invalid"
    rl.assert_same(before, _state())


def test_route_in_the_rules_table_carries_the_selected_traffic(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    stem = rl.uid()
    table = 1000 + rl.spare_octet(stem)
    rule_inputs = _inputs(lab, stem, src=None, dst="198.19.0.0/16")
    route_inputs = rl.checked(
        "route",
        {
            "host": rl.host_input(lab, "h2"),
            "dst": "default",
            "via": "10.32.171.204",
            "table": table,
        },
    )
    cleanup.delete_resource("rule", rule_inputs)
    cleanup.delete_resource("route", route_inputs)
    agent = rl.agent_for(rule_inputs)
    routing_rule.KIND.create(agent, rule_inputs)
    route.KIND.create(agent, route_inputs)
    chosen = json.loads(rl.run("h2", "ip", "-j", "route", "get", "198.19.1.1"))[0]
    assert (chosen["gateway"], chosen.get("table")) == ("10.32.171.204", str(table))
    main = json.loads(rl.run("h2", "ip", "-j", "route", "get", "198.20.1.1"))[0]
    assert main["gateway"] == "10.32.171.1"
