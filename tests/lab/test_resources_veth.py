"""Veth against lab hosts over real SSH: idempotence, drift, foreign links,
failed creates, updates in place."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import route, veth
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _inputs(lab: LabInfo, stem: str, **fields: Any) -> dict[str, Any]:
    news = {"host": rl.host_input(lab, "h2"), "name": stem + "v", "peer_name": stem + "vp"}
    return rl.checked("veth", {**news, **fields})


def _netns(stem: str, cleanup: rl.Cleanup) -> str:
    name = stem + "ns"
    rl.run("h2", "ip", "netns", "add", name)
    cleanup.delete_netns("h2", name)
    return name


def _state(netns: str) -> dict[str, Any]:
    return {**rl.snapshot("h2"), "inside": rl.link_text("h2", netns)}


def test_create_twice_is_the_same_pair(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    ns = _netns(stem, cleanup)
    net = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}"
    inputs = _inputs(
        lab, stem, peer_netns=ns, addresses=[f"{net}.1/24"], peer_addresses=[f"{net}.2/24"]
    )
    cleanup.delete_resource("veth", inputs)
    agent = rl.agent_for(inputs)

    first = veth.KIND.create(agent, inputs)
    host_end, peer = rl.link("h2", stem + "v"), rl.link("h2", stem + "vp", ns)
    assert host_end is not None and peer is not None
    assert (first["ifindex"], first["peer_ifindex"]) == (host_end["ifindex"], peer["ifindex"])
    assert host_end["ifalias"] == peer["ifalias"] == "hostnet:" + first["resource_id"]
    assert "UP" in host_end["flags"] and "UP" in peer["flags"]
    assert rl.addresses("h2", stem + "v") == [f"{net}.1/24"]
    assert rl.addresses("h2", stem + "vp", ns) == [f"{net}.2/24"]
    before = _state(ns)

    assert veth.KIND.create(agent, inputs) == first
    rl.assert_same(before, _state(ns))


def test_delete_twice_succeeds(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    ns = _netns(stem, cleanup)
    inputs = _inputs(lab, stem, peer_netns=ns)
    cleanup.delete_resource("veth", inputs)
    agent = rl.agent_for(inputs)
    before = _state(ns)
    outputs = veth.KIND.create(agent, inputs)
    veth.KIND.delete(agent, outputs)
    veth.KIND.delete(agent, outputs)
    assert rl.link("h2", stem + "v") is None and rl.link("h2", stem + "vp", ns) is None
    rl.assert_same(before, _state(ns))


def test_update_in_place_keeps_the_pair(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    ns = _netns(stem, cleanup)
    rl.run("h2", "ip", "link", "add", stem + "br", "type", "bridge")
    cleanup.delete_link("h2", stem + "br")
    net = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}"
    inputs = _inputs(lab, stem, peer_netns=ns, peer_addresses=[f"{net}.2/24"])
    cleanup.delete_resource("veth", inputs)
    agent = rl.agent_for(inputs)
    outputs = veth.KIND.create(agent, inputs)

    news = _inputs(lab, stem, peer_netns=ns, peer_addresses=[f"{net}.3/24"], master=stem + "br")
    updated = veth.KIND.update(agent, outputs, news)
    assert updated["ifindex"] == outputs["ifindex"]
    assert rl.addresses("h2", stem + "vp", ns) == [f"{net}.3/24"]
    assert rl.link("h2", stem + "v")["master"] == stem + "br"  # type: ignore[index]

    back = veth.KIND.update(agent, updated, inputs)
    assert rl.link("h2", stem + "v").get("master") is None  # type: ignore[union-attr]
    assert rl.addresses("h2", stem + "vp", ns) == [f"{net}.2/24"]
    assert back["ifindex"] == outputs["ifindex"]


def test_peer_address_moving_within_its_subnet_keeps_routes_through_it(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    """.2/24 to .3/24 on the peer: the kernel removes a primary address's
    secondaries with it and, with the link's last address, every route through
    the link. The container's route via its gateway must survive the update."""
    stem = rl.uid()
    ns = _netns(stem, cleanup)
    net = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}"
    inputs = _inputs(lab, stem, peer_netns=ns, peer_addresses=[f"{net}.2/24"])
    cleanup.delete_resource("veth", inputs)
    agent = rl.agent_for(inputs)
    outputs = veth.KIND.create(agent, inputs)
    dst = f"{rl.SPARE_NET}.{rl.spare_octet(stem) % 250 + 1}.0/24"
    news = {"host": inputs["host"], "netns": ns, "dst": dst, "via": f"{net}.1"}
    route_inputs = rl.checked("route", news)
    cleanup.delete_resource("route", route_inputs)
    made = route.KIND.create(agent, route_inputs)

    veth.KIND.update(agent, outputs, {**inputs, "peer_addresses": [f"{net}.3/24"]})
    assert rl.addresses("h2", stem + "vp", ns) == [f"{net}.3/24"]
    assert f"{dst} via {net}.1 dev {stem}vp proto 77" in rl.routes("h2", ns)
    assert route.KIND.read(agent, made) == made
    key = f"net.ipv4.conf.{stem}vp.promote_secondaries"
    assert rl.run("h2", "ip", "netns", "exec", ns, "sysctl", "-n", key).strip() == "0"


def test_read_reports_changes_made_by_hand(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    ns = _netns(stem, cleanup)
    rl.run("h2", "ip", "link", "add", stem + "br", "type", "bridge")
    cleanup.delete_link("h2", stem + "br")
    net = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}"
    inputs = _inputs(lab, stem, peer_netns=ns, peer_addresses=[f"{net}.2/24"])
    cleanup.delete_resource("veth", inputs)
    agent = rl.agent_for(inputs)
    outputs = veth.KIND.create(agent, inputs)
    assert veth.KIND.read(agent, outputs) == outputs

    rl.run("h2", "ip", "-n", ns, "addr", "add", f"{net}.7/24", "dev", stem + "vp")
    rl.run("h2", "ip", "-n", ns, "link", "set", stem + "vp", "down")
    rl.run("h2", "ip", "addr", "add", f"{net}.1/24", "dev", stem + "v")
    rl.run("h2", "ip", "link", "set", stem + "v", "master", stem + "br", "promisc", "on")
    drifted = veth.KIND.read(agent, outputs)
    assert drifted is not None
    assert drifted["peer_addresses"] == [f"{net}.2/24", f"{net}.7/24"]
    assert drifted["addresses"] == [f"{net}.1/24"]
    assert drifted["up"] is False
    assert drifted["master"] == stem + "br"
    assert drifted["promisc"] is True

    rl.run("h2", "ip", "link", "delete", stem + "v")
    assert veth.KIND.read(agent, outputs) is None


def test_foreign_links_are_never_adopted(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    ns = _netns(stem, cleanup)
    agent = rl.agent_for(_inputs(lab, stem))
    # A pair made by hand under both names.
    rl.run("h2", "ip", "link", "add", stem + "v", "type", "veth", "peer", "name", stem + "vp")
    cleanup.delete_link("h2", stem + "v")
    before = _state(ns)
    with pytest.raises(errors.NotOwned):
        veth.KIND.create(agent, _inputs(lab, stem, addresses=["198.18.0.1/24"]))
    rl.assert_same(before, _state(ns))
    # Left as it is, with a line in the log: it is not this resource\'s.
    veth.KIND.delete(agent, _inputs(lab, stem))
    rl.assert_same(before, _state(ns))
    rl.run("h2", "ip", "link", "delete", stem + "v")

    # Only the peer's name is taken, by a foreign link in the peer's namespace.
    rl.add_link("h2", stem + "vp", netns=ns)
    before = _state(ns)
    with pytest.raises((errors.NotOwned, errors.Conflict)):
        veth.KIND.create(agent, _inputs(lab, stem, peer_netns=ns))
    rl.assert_same(before, _state(ns))

    # The name is a link of another kind.
    rl.run("h2", "ip", "link", "add", stem + "v", "type", "bridge")
    before = _state(ns)
    with pytest.raises(errors.Conflict):
        veth.KIND.create(agent, _inputs(lab, stem))
    rl.assert_same(before, _state(ns))


def test_failed_creates_leave_nothing_behind(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    ns = _netns(stem, cleanup)
    # IPv6 is off in this namespace: a peer created there cannot take an IPv6 address.
    in_ns = ("ip", "netns", "exec", ns, "sysctl", "-q", "-w")
    rl.run("h2", *in_ns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
    rl.run("h2", "ip", "link", "add", stem + "br", "type", "bridge")
    cleanup.delete_link("h2", stem + "br")
    agent = rl.agent_for(_inputs(lab, stem))
    net = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}"
    cases: list[tuple[str, dict[str, Any]]] = [
        # The peer's namespace does not exist: fails before anything is made.
        ("NotFound", {"peer_netns": stem + "gone", "addresses": [f"{net}.1/24"]}),
        # The pair is made, then joining a bridge that does not exist fails.
        ("NotFound", {"peer_netns": ns, "peer_addresses": [f"{net}.2/24"], "master": stem + "no"}),
        # The pair is made, in its bridge, with the host end's address; then the
        # peer's address is refused.
        (
            "Failed",
            {
                "peer_netns": ns,
                "master": stem + "br",
                "addresses": [f"{net}.1/24"],
                "peer_addresses": ["2001:db8::2/64"],
            },
        ),
    ]
    before = _state(ns)
    for kind, fields in cases:
        inputs = _inputs(lab, stem, **fields)
        cleanup.delete_resource("veth", inputs)
        with pytest.raises(errors.AgentError) as failed:
            veth.KIND.create(agent, inputs)
        assert failed.value.kind == kind
        assert rl.link("h2", stem + "v") is None
        rl.assert_same(before, _state(ns))


def test_concurrent_pairs_join_one_bridge(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    rl.run("h2", "ip", "link", "add", stem + "br", "type", "bridge")
    cleanup.delete_link("h2", stem + "br")
    every = [
        _inputs(lab, f"{stem}{i}", peer_name=f"{stem}{i}p", master=stem + "br") for i in range(6)
    ]
    for inputs in every:
        cleanup.delete_resource("veth", inputs)
    agent = rl.agent_for(every[0])
    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(lambda inputs: veth.KIND.create(agent, inputs), every))
    seen = rl.links("h2")
    for outputs in made:
        assert seen[outputs["name"]]["ifindex"] == outputs["ifindex"]
        assert seen[outputs["name"]]["master"] == stem + "br"
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda outputs: veth.KIND.delete(agent, outputs), made))
    for outputs in made:
        assert outputs["name"] not in rl.links("h2")
