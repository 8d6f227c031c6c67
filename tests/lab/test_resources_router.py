"""NetnsRouter against lab hosts over real SSH: idempotence, drift, a foreign
namespace, and failures at each step of its multi-step create."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import netns_router
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _legs(stem: str, *, bridge_b: str | None = None) -> list[dict[str, Any]]:
    octet = rl.spare_octet(stem)
    legs: list[dict[str, Any]] = [
        {"name": stem + "a", "inside_name": "ia", "address": f"198.18.{octet}.1/24"},
        {"name": stem + "b", "inside_name": "ib", "address": f"198.19.{octet}.1/24"},
    ]
    if bridge_b:
        legs[1]["bridge"] = bridge_b
    return legs


def _inputs(lab: LabInfo, stem: str, **fields: Any) -> dict[str, Any]:
    octet = rl.spare_octet(stem)
    news = {
        "host": rl.host_input(lab, "h2"),
        "name": stem + "r",
        "interfaces": _legs(stem),
        "routes": [{"dst": "198.51.100.0/24", "via": f"198.18.{octet}.2"}],
    }
    return rl.checked("router", {**news, **fields})


def _inside(ns: str) -> dict[str, Any]:
    forwarding = rl.run("h2", "ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.ip_forward")
    return {
        "links": rl.link_text("h2", ns),
        "routes": rl.routes("h2", ns),
        "forwarding": forwarding.strip(),
    }


def _bridge(stem: str, cleanup: rl.Cleanup) -> str:
    name = stem + "br"
    rl.run("h2", "ip", "link", "add", name, "type", "bridge")
    cleanup.delete_link("h2", name)
    return name


def test_create_twice_changes_nothing(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    bridge = _bridge(stem, cleanup)
    inputs = _inputs(lab, stem, interfaces=_legs(stem, bridge_b=bridge))
    cleanup.delete_resource("router", inputs)
    agent = rl.agent_for(inputs)
    ns = inputs["name"]

    first = netns_router.KIND.create(agent, inputs)
    assert first["interfaces"] == inputs["interfaces"]
    assert first["routes"] == inputs["routes"]
    assert first["forwarding"] is True
    assert ns in rl.netns_names("h2")
    assert rl.link("h2", stem + "b")["master"] == bridge  # type: ignore[index]
    inside = _inside(ns)
    assert inside["forwarding"] == "1"
    assert rl.addresses("h2", "ia", ns) == [inputs["interfaces"][0]["address"]]
    assert any(r.startswith("198.51.100.0/24 via") and "proto 77" in r for r in inside["routes"])
    before = {**rl.snapshot("h2"), **inside}

    assert netns_router.KIND.create(agent, inputs) == first
    rl.assert_same(before, {**rl.snapshot("h2"), **_inside(ns)})


def test_delete_twice_succeeds(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    inputs = _inputs(lab, stem)
    cleanup.delete_resource("router", inputs)
    agent = rl.agent_for(inputs)
    before = rl.snapshot("h2")
    outputs = netns_router.KIND.create(agent, inputs)
    netns_router.KIND.delete(agent, outputs)
    netns_router.KIND.delete(agent, outputs)
    rl.assert_same(before, rl.snapshot("h2"))


def test_update_adds_and_removes_legs_and_routes(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    octet = rl.spare_octet(stem)
    inputs = _inputs(lab, stem, interfaces=_legs(stem)[:1])
    cleanup.delete_resource("router", inputs)
    agent = rl.agent_for(inputs)
    outputs = netns_router.KIND.create(agent, inputs)
    news = _inputs(
        lab,
        stem,
        routes=[{"dst": "198.51.100.0/25", "via": f"198.19.{octet}.9"}],
        forwarding=False,
    )
    updated = netns_router.KIND.update(agent, outputs, news)
    assert updated["interfaces"] == news["interfaces"]
    inside = _inside(inputs["name"])
    assert inside["forwarding"] == "0"
    assert [r for r in inside["routes"] if "proto 77" in r] == [
        f"198.51.100.0/25 via 198.19.{octet}.9 dev ib proto 77"
    ]
    netns_router.KIND.update(agent, updated, inputs)
    assert rl.link("h2", stem + "b") is None
    assert netns_router.KIND.read(agent, outputs) == outputs


def test_update_renames_a_leg_inside(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    inputs = _inputs(lab, stem)
    cleanup.delete_resource("router", inputs)
    agent = rl.agent_for(inputs)
    ns = inputs["name"]
    outputs = netns_router.KIND.create(agent, inputs)
    legs = _legs(stem)
    legs[1]["inside_name"] = "ic"
    news = _inputs(lab, stem, interfaces=legs)
    updated = netns_router.KIND.update(agent, outputs, news)
    assert updated["interfaces"] == legs
    inside = rl.links("h2", ns)
    assert "ic" in inside and "ib" not in inside
    assert rl.addresses("h2", "ic", ns) == [legs[1]["address"]]


def test_read_reports_changes_made_by_hand(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    octet = rl.spare_octet(stem)
    inputs = _inputs(lab, stem)
    cleanup.delete_resource("router", inputs)
    agent = rl.agent_for(inputs)
    ns = inputs["name"]
    outputs = netns_router.KIND.create(agent, inputs)
    assert netns_router.KIND.read(agent, outputs) == outputs

    in_ns = ("ip", "netns", "exec", ns)
    rl.run("h2", *in_ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0")
    rl.run("h2", "ip", "-n", ns, "route", "del", "198.51.100.0/24")
    rl.run("h2", "ip", "-n", ns, "addr", "flush", "dev", "ib")
    rl.run("h2", "ip", "-n", ns, "addr", "add", f"198.19.{octet}.5/24", "dev", "ib")
    rl.run("h2", "ip", "link", "delete", stem + "a")
    drifted = netns_router.KIND.read(agent, outputs)
    assert drifted is not None
    assert drifted["forwarding"] is False
    assert drifted["routes"] == []
    assert drifted["interfaces"] == [
        {"name": stem + "b", "inside_name": "ib", "address": f"198.19.{octet}.5/24"}
    ]

    # Applying the inputs again repairs every part.
    assert netns_router.KIND.update(agent, drifted, inputs) == outputs

    rl.run("h2", "ip", "netns", "delete", ns)
    assert netns_router.KIND.read(agent, outputs) is None


def test_foreign_namespace_is_never_adopted(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    inputs = _inputs(lab, stem)
    rl.run("h2", "ip", "netns", "add", inputs["name"])
    cleanup.delete_netns("h2", inputs["name"])
    agent = rl.agent_for(inputs)
    before = {**rl.snapshot("h2"), **_inside(inputs["name"])}
    with pytest.raises(errors.NotOwned):
        netns_router.KIND.create(agent, inputs)
    rl.assert_same(before, {**rl.snapshot("h2"), **_inside(inputs["name"])})
    # Left as it is, with a line in the log: it is not this resource\'s.
    netns_router.KIND.delete(agent, inputs)
    rl.assert_same(before, {**rl.snapshot("h2"), **_inside(inputs["name"])})


def test_failed_creates_leave_nothing_behind(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    octet = rl.spare_octet(stem)
    foreign = stem + "b"
    cases: list[tuple[str, dict[str, Any]]] = [
        # Fails after the namespace and the whole first leg are made.
        ("NotFound", {"interfaces": _legs(stem, bridge_b=stem + "nobr")}),
        # Everything but the route is made; the kernel refuses a gateway that
        # is not on the link the route names.
        (
            "Failed",
            {"routes": [{"dst": "198.51.100.0/24", "via": f"198.18.{octet}.2", "dev": "ib"}]},
        ),
        # The second leg's host end is a foreign link.
        ("NotOwned", {}),
    ]
    agent = rl.agent_for(_inputs(lab, stem))
    for kind, fields in cases:
        if kind == "NotOwned":
            rl.run("h2", "ip", "link", "add", foreign, "type", "veth", "peer", "name", stem + "x")
            cleanup.delete_link("h2", foreign)
        before = rl.snapshot("h2")
        inputs = _inputs(lab, stem, **fields)
        cleanup.delete_resource("router", inputs)
        with pytest.raises(errors.AgentError) as failed:
            netns_router.KIND.create(agent, inputs)
        assert failed.value.kind == kind
        assert inputs["name"] not in rl.netns_names("h2")
        rl.assert_same(before, rl.snapshot("h2"))
