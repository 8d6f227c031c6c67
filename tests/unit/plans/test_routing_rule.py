"""Routing rule plans: one ensure at the rule's priority, undone unless it was there."""

from __future__ import annotations

from hostnet.resources import routing_rule

RID = "h1/rule/100"
HOST = {"name": "h1", "address": "10.0.0.1"}
SPEC = {
    "host": HOST,
    "priority": 100,
    "family": 4,
    "src": "10.1.0.0/24",
    "action": "table",
    "table": 100,
    "resource_id": RID,
}
ENSURE = (
    f"rule_ensure action='table' family=4 owner='{RID}' priority=100 src='10.1.0.0/24' table=100"
)


def test_a_new_rule_is_deleted_again_if_the_create_fails() -> None:
    plan = routing_rule.plan(SPEC, None, {})
    assert str(plan) == f"{ENSURE}  (undo: rule_delete family=4 owner='{RID}' priority=100)"


def test_a_rule_that_is_there_is_taken_over_and_stays() -> None:
    found = {"priority": 100, "src": "10.2.0.0/24", "owner": {"id": RID}}
    plan = routing_rule.plan(SPEC, found, {})
    assert str(plan) == ENSURE
    assert not plan.makes


def test_every_selector_reaches_the_agent() -> None:
    selectors = {"dst": "10.9.0.0/16", "iif": "eth0", "oif": "eth1", "fwmark": 7, "fwmask": 255}
    spec = {**SPEC, **selectors, "netns": "ns1", "tos": 16, "action": "blackhole", "table": None}
    assert routing_rule.plan(spec, {"priority": 100}, {}).ops[0].wire()["args"] == {
        "netns": "ns1",
        "family": 4,
        "priority": 100,
        "src": "10.1.0.0/24",
        **selectors,
        "tos": 16,
        "action": "blackhole",
        "owner": RID,
    }
