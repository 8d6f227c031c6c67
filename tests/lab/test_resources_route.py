"""Route against lab hosts over real SSH: idempotence, drift, foreign routes,
failed creates. Destinations are in 198.18.0.0/15, which no lab path uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import route
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab
GATEWAY, OTHER = "10.32.171.1", "10.32.171.204"


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _dst(stem: str) -> str:
    return f"{rl.SPARE_NET}.{rl.spare_octet(stem)}.0/24"


def _inputs(lab: LabInfo, stem: str, **fields: Any) -> dict[str, Any]:
    news = {"host": rl.host_input(lab, "h2"), "dst": _dst(stem), "via": GATEWAY}
    return rl.checked("route", {**news, **fields})


def _state(netns: str | None = None) -> dict[str, Any]:
    return {**rl.snapshot("h2"), "inside": rl.routes("h2", netns) if netns else []}


@pytest.mark.parametrize("where", ["main", "netns table metric"])
def test_create_twice_changes_nothing(lab: LabInfo, cleanup: rl.Cleanup, where: str) -> None:
    stem = rl.uid()
    fields: dict[str, Any] = {}
    ns = None
    if where != "main":
        ns = stem + "ns"
        rl.run("h2", "ip", "netns", "add", ns)
        cleanup.delete_netns("h2", ns)
        rl.add_link("h2", "d0", netns=ns, up=True)
        rl.run("h2", "ip", "-n", ns, "addr", "add", "198.19.0.1/24", "dev", "d0")
        fields = {"netns": ns, "via": "198.19.0.9", "dev": "d0", "table": 100, "metric": 50}
    inputs = _inputs(lab, stem, **fields)
    cleanup.delete_resource("route", inputs)
    agent = rl.agent_for(inputs)

    first = route.KIND.create(agent, inputs)
    assert first["resource_id"] == route.make_id_for(inputs)
    shown = rl.routes("h2", ns)
    if ns is None:
        assert f"{_dst(stem)} via {GATEWAY} dev ens32 proto 77" in shown
    else:
        assert f"{_dst(stem)} via 198.19.0.9 dev d0 table 100 proto 77 metric 50" in shown
    before = _state(ns)
    assert route.KIND.create(agent, inputs) == first
    rl.assert_same(before, _state(ns))


def test_delete_twice_succeeds(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    inputs = _inputs(lab, stem)
    cleanup.delete_resource("route", inputs)
    agent = rl.agent_for(inputs)
    before = rl.snapshot("h2")
    outputs = route.KIND.create(agent, inputs)
    route.KIND.delete(agent, outputs)
    route.KIND.delete(agent, outputs)
    rl.assert_same(before, rl.snapshot("h2"))


def test_update_changes_the_gateway_in_place(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    inputs = _inputs(lab, stem)
    cleanup.delete_resource("route", inputs)
    agent = rl.agent_for(inputs)
    outputs = route.KIND.create(agent, inputs)
    updated = route.KIND.update(agent, outputs, _inputs(lab, stem, via=OTHER))
    assert updated["via"] == OTHER
    mine = [r for r in rl.routes("h2") if r.startswith(_dst(stem))]
    assert mine == [f"{_dst(stem)} via {OTHER} dev ens32 proto 77"]


def test_read_reports_changes_made_by_hand(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    dst = _dst(stem)
    inputs = _inputs(lab, stem)
    cleanup.delete_resource("route", inputs)
    cleanup.add(lambda: rl.run_quietly("h2", "ip", "route", "del", dst))
    agent = rl.agent_for(inputs)
    outputs = route.KIND.create(agent, inputs)
    assert route.read(agent, outputs) == outputs

    rl.run("h2", "ip", "route", "replace", dst, "via", OTHER, "proto", "77")
    drifted = route.read(agent, outputs)
    assert drifted is not None and drifted["via"] == OTHER
    # Replaced by hand without hostnet's protocol: no longer hostnet's route.
    rl.run("h2", "ip", "route", "replace", dst, "via", GATEWAY)
    assert route.read(agent, outputs) is None
    rl.run("h2", "ip", "route", "del", dst)
    assert route.read(agent, outputs) is None


def test_foreign_route_is_never_replaced(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    dst = _dst(stem)
    rl.run("h2", "ip", "route", "add", dst, "via", GATEWAY)
    cleanup.add(lambda: rl.run_quietly("h2", "ip", "route", "del", dst))
    agent = rl.agent_for(_inputs(lab, stem))
    before = rl.snapshot("h2")
    with pytest.raises(errors.NotOwned):
        route.KIND.create(agent, _inputs(lab, stem, via=OTHER))
    rl.assert_same(before, rl.snapshot("h2"))
    # Left as it is, with a line in the log: it is not this resource\'s.
    route.KIND.delete(agent, _inputs(lab, stem))
    rl.assert_same(before, rl.snapshot("h2"))


def test_failed_creates_leave_nothing_behind(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    agent = rl.agent_for(_inputs(lab, stem))
    before = rl.snapshot("h2")
    cases: list[tuple[str, dict[str, Any]]] = [
        ("NotFound", {"dev": stem + "nodev"}),
        ("NotFound", {"netns": stem + "nons"}),
    ]
    # No link reaches this gateway: refused, naming the field, before any change.
    inputs = _inputs(lab, stem, via="198.19.255.1")
    with pytest.raises(errors.InvalidInput) as invalid:
        route.KIND.create(agent, inputs)
    assert invalid.value.field == "via" and "not inside any network" in invalid.value.reason
    rl.assert_same(before, rl.snapshot("h2"))
    for kind, fields in cases:
        inputs = _inputs(lab, stem, **fields)
        cleanup.delete_resource("route", inputs)
        with pytest.raises(errors.AgentError) as failed:
            route.KIND.create(agent, inputs)
        assert failed.value.kind == kind
        rl.assert_same(before, rl.snapshot("h2"))
