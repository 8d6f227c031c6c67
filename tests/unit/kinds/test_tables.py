"""Every kind's lifecycle on the fake host, as an ordinary user: create, read,
update per field, delete, undo of a create failing at each step, foreign objects,
adoption and drift. The table is cases.CASES; a kind without rows fails here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hostnet import errors
from tests.unit.fakehost import OWN, FakeAgent, Host, Sent

from . import lifecycle as kinds
from .cases import CASES, GONE_ON_DRIFT, Case
from .lifecycle import OTHER_MARK, OTHER_TOKEN, TOKEN

# Known defects: each row fails strictly once the defect is fixed, so its mark
# must go then.
KNOWN_UPDATES: dict[tuple[str, str], pytest.MarkDecorator] = {}
UPDATES = [
    pytest.param(name, label, marks=KNOWN_UPDATES.get((name, label), ()))
    for name, case in CASES.items()
    for label in case.updates
]


def _cases(known: dict[str, pytest.MarkDecorator] | None = None) -> list[Any]:
    return [pytest.param(name, marks=(known or {}).get(name, ())) for name in sorted(CASES)]


FOREIGN = [name for name, case in CASES.items() if case.foreign is not None]


def _holds(host: Host, token: str) -> bool:
    return token in json.dumps(host.snapshot())


def _created(name: str) -> tuple[Case, FakeAgent, dict[str, Any], dict[str, Any]]:
    """(case, agent, snapshot before, outputs) after a create on a fresh world."""
    case = CASES[name]
    agent = FakeAgent(case.world())
    before = agent.host.snapshot()
    outputs = kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields))
    return case, agent, before, outputs


def _changed(case: Case, overrides: dict[str, Any]) -> dict[str, Any]:
    fields = {**case.fields, **overrides}
    return kinds.checked(case.kind, {k: v for k, v in fields.items() if v is not None})


def test_every_kind_in_the_registry_has_rows() -> None:
    assert set(kinds.registry()) == {case.kind for case in CASES.values()}


@pytest.mark.parametrize("kind", sorted(kinds.registry()))
def test_every_update_field_has_a_row(kind: str) -> None:
    covered = {f for c in CASES.values() if c.kind == kind for u in c.updates.values() for f in u}
    assert kinds.update_fields(kind) <= covered, kinds.update_fields(kind) - covered


@pytest.mark.parametrize("name", sorted(CASES))
def test_create_reads_back_as_its_outputs_and_marks_the_object(name: str) -> None:
    case, agent, before, outputs = _created(name)
    assert outputs["resource_id"] == kinds.make_id(case.kind, outputs)
    assert kinds.read(case.kind, agent, outputs) == outputs
    assert _holds(agent.host, TOKEN)
    assert agent.host.snapshot() != before


@pytest.mark.parametrize("name", sorted(CASES))
def test_delete_leaves_the_host_as_before(name: str) -> None:
    case, agent, before, outputs = _created(name)
    kinds.delete(case.kind, agent, outputs)
    assert agent.host.snapshot() == before
    assert kinds.read(case.kind, agent, outputs) is None
    kinds.delete(case.kind, agent, outputs)  # what is gone already is no error
    assert agent.host.snapshot() == before


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_update_to_the_same_inputs_changes_nothing(name: str) -> None:
    case, agent, _, outputs = _created(name)
    made = agent.host.snapshot()
    again = kinds.update(case.kind, agent, outputs, kinds.checked(case.kind, case.fields))
    assert again == outputs
    assert agent.host.snapshot() == made


@pytest.mark.parametrize(("name", "label"), UPDATES)
def test_update_in_place_keeps_id_and_mark(name: str, label: str) -> None:
    case, agent, before, outputs = _created(name)
    news = _changed(case, case.updates[label])
    updated = kinds.update(case.kind, agent, outputs, news)
    assert updated["resource_id"] == outputs["resource_id"]
    for key in kinds.update_fields(case.kind) & set(case.updates[label]):
        assert updated.get(key) == news.get(key), key
    assert kinds.read(case.kind, agent, updated) == updated
    assert _holds(agent.host, TOKEN)
    kinds.delete(case.kind, agent, updated)
    assert agent.host.snapshot() == before


def _mutating_steps(name: str) -> int:
    _, agent, _, _ = _created(name)
    return sum(1 for sent in agent.log if sent.mutating)


def _is_mutating(op: Any) -> bool:
    return Sent(op=op.op, args=op.args).mutating


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_create_failing_at_any_step_leaves_the_host_as_before(name: str) -> None:
    case = CASES[name]
    steps = _mutating_steps(name)
    assert steps > 0
    left = []
    for step in range(1, steps + 1):
        agent = FakeAgent(case.world())
        before = agent.host.snapshot()
        agent.fail_at(_is_mutating, step)
        with pytest.raises(errors.AgentError, match="injected failure"):
            kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields))
        if agent.host.snapshot() != before:
            left.append(step)
    assert left == [], f"{name}: failing at mutating step(s) {left} of {steps} left changes"


@pytest.mark.parametrize("name", FOREIGN)
@pytest.mark.parametrize("mark", [None, OTHER_MARK], ids=["unmarked", "other-stack"])
def test_a_foreign_object_is_refused_and_left_as_it_is(name: str, mark: str | None) -> None:
    case = CASES[name]
    assert case.foreign is not None
    host = case.world()
    case.foreign(host, mark)
    agent = FakeAgent(host)
    before = host.snapshot()
    expected = case.unmarked_error if mark is None else errors.NotOwned
    if name == "sysctl" and mark is None:
        # A setting nobody recorded is written, and its value put back on delete.
        outputs = kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields))
        assert kinds.read(case.kind, agent, outputs) == outputs
        kinds.delete(case.kind, agent, outputs)
        assert host.snapshot() == before
        return
    with pytest.raises(expected):
        kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields))
    assert host.snapshot() == before


@pytest.mark.parametrize("name", FOREIGN)
def test_adopt_takes_another_stacks_object_over(name: str) -> None:
    case = CASES[name]
    assert case.foreign is not None
    host = case.world()
    case.foreign(host, OTHER_MARK)
    agent = FakeAgent(host)
    outputs = kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields, adopt=True))
    assert kinds.read(case.kind, agent, outputs) == outputs
    assert _holds(host, TOKEN)
    kinds.delete(case.kind, agent, outputs)
    assert kinds.read(case.kind, agent, outputs) is None
    assert not _holds(host, TOKEN)


def test_delete_of_an_adopted_sysctl_restores_the_first_owners_previous_value() -> None:
    case = CASES["sysctl"]
    host = case.world()
    assert case.foreign is not None
    case.foreign(host, OTHER_MARK)  # the other stack wrote 1 over a 0
    agent = FakeAgent(host)
    outputs = kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields, adopt=True))
    assert host.netns[""].sysctls["net.ipv4.conf.all.rp_filter"] == "2"
    kinds.delete(case.kind, agent, outputs)
    assert host.netns[""].sysctls["net.ipv4.conf.all.rp_filter"] == "0"


@pytest.mark.parametrize("name", sorted(CASES))
def test_read_reports_a_change_by_hand_and_none_when_gone(name: str) -> None:
    case, agent, _, outputs = _created(name)
    assert case.drift is not None and case.remove is not None
    change, key = case.drift
    change(agent.host)
    seen = kinds.read(case.kind, agent, outputs)
    if key == GONE_ON_DRIFT:
        assert seen is None
    else:
        assert seen is not None and seen[key] != outputs[key], seen
        assert {k: v for k, v in seen.items() if k != key} == {
            k: v for k, v in outputs.items() if k != key
        }
    case.remove(agent.host)
    assert kinds.read(case.kind, agent, outputs) is None


def test_router_delete_leaves_no_records_behind() -> None:
    case, agent, _, outputs = _created("netns_router")
    kinds.delete(case.kind, agent, outputs)
    assert agent.host.stale_records() == []


@pytest.mark.parametrize("name", ["nat_rule", "firewall_rule"])
def test_rules_of_others_in_the_same_tables_are_left_as_they_are(name: str) -> None:
    case = CASES[name]
    host = case.world()
    table = host.netns[OWN].tables["nat" if name == "nat_rule" else "filter"]
    chain = "HOSTNET-POSTROUTING" if name == "nat_rule" else "HOSTNET-FORWARD"
    parent = "POSTROUTING" if name == "nat_rule" else "FORWARD"
    table.chains.update({"DOCKER": "-", chain: "-"})
    theirs = ["-m", "comment", "--comment", f"{OTHER_MARK} prio=0", "-j", "RETURN"]
    table.rules += [(parent, ["-o", "docker0", "-j", "DOCKER"]), (parent, ["-j", chain])]
    table.rules += [(chain, theirs), (chain, ["-s", "10.0.0.0/8", "-j", "RETURN"])]
    agent = FakeAgent(host)
    outputs = kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields))
    news = _changed(case, next(iter(case.updates.values())))
    outputs = kinds.update(case.kind, agent, outputs, news)
    kinds.delete(case.kind, agent, outputs)
    assert table.rules == [
        (parent, ["-o", "docker0", "-j", "DOCKER"]),
        (parent, ["-j", chain]),
        (chain, theirs),
        (chain, ["-s", "10.0.0.0/8", "-j", "RETURN"]),
    ]
    assert chain in table.chains  # not hostnet's to remove while others' rules are in it


@pytest.mark.parametrize("name", _cases())
def test_a_replacement_takes_the_object_over_and_the_old_delete_leaves_it(name: str) -> None:
    """Pulumi's create-before-delete (``up --replace``, a renamed resource): the new
    instance takes the object over, the old instance's delete then leaves it."""
    case, agent, before, old = _created(name)
    inputs = kinds.checked(case.kind, case.fields, token=OTHER_TOKEN, resource="renamed")
    new = kinds.create(case.kind, agent, inputs)
    kinds.delete(case.kind, agent, old)
    assert kinds.read(case.kind, agent, new) == new
    assert kinds.read(case.kind, agent, old) is None
    assert _holds(agent.host, OTHER_TOKEN) and not _holds(agent.host, TOKEN)
    kinds.delete(case.kind, agent, new)
    assert agent.host.snapshot() == before


@pytest.mark.parametrize("name", _cases())
def test_state_from_before_instance_ownership_moves_to_the_instance_on_update(name: str) -> None:
    """Objects marked with their id (no token in the state) are taken by the first
    update, which passes that id as ``legacy``."""
    case = CASES[name]
    agent = FakeAgent(case.world())
    before = agent.host.snapshot()
    old = kinds.create(case.kind, agent, kinds.checked(case.kind, case.fields, token=None))
    assert _holds(agent.host, old["resource_id"])  # the id is the mark (or the record's owner)
    news = kinds.checked(case.kind, case.fields, legacy=old["resource_id"])
    outputs = kinds.update(case.kind, agent, old, news)
    assert "legacy" not in outputs["owner"]
    assert kinds.read(case.kind, agent, outputs) == outputs
    assert _holds(agent.host, TOKEN)
    assert not _holds(agent.host, old["resource_id"])
    kinds.delete(case.kind, agent, outputs)
    assert agent.host.snapshot() == before


# Kinds that declare the read-back their read starts with (it rides in the
# change's own batch, hostnet.resources._readback).
READING = sorted(name for name, case in CASES.items() if kinds.registry()[case.kind].reads)


def test_the_kinds_of_the_big_stacks_declare_their_read_back() -> None:
    # Containers' legs, routes and rules are most of a large stack's resources.
    assert {"veth", "route", "routing_rule"} <= {CASES[name].kind for name in READING}


@pytest.mark.parametrize("name", READING)
def test_a_declared_read_back_is_what_read_asks_first(name: str) -> None:
    case, agent, _, outputs = _created(name)
    kind = kinds.registry()[case.kind]
    assert kind.reads is not None
    declared = [Sent(op=op.op, args=op.wire()["args"]) for op in kind.reads(kind.spec(outputs))]
    start = len(agent.log)
    kinds.read(case.kind, agent, outputs)
    assert agent.log[start : start + len(declared)] == declared


@pytest.mark.parametrize("name", READING)
def test_a_create_and_an_update_read_back_within_their_own_batch(name: str) -> None:
    case, agent, _, outputs = _created(name)
    assert agent.log[-1].op == "reads"  # nothing went to the host after the change's batch
    for label in case.updates:
        news = _changed(case, case.updates[label])
        start = len(agent.log)
        outputs = kinds.update(case.kind, agent, outputs, news)
        asked = [sent.op for sent in agent.log[start:]]
        assert asked[-1] == "reads", (label, asked)


def test_a_route_via_a_gateway_observes_in_one_request() -> None:
    """Its own key and the kernel's lookup of the gateway are asked together: a
    create is one request to observe and one to change and read back."""
    _, agent, _, _ = _created("route")
    assert [sent.op for sent in agent.log] == ["reads", "route_ensure", "reads"]
