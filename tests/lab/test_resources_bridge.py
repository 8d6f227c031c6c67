"""Bridge against lab hosts over real SSH: idempotence, drift, foreign bridges,
failed creates, and the uplink takeover of ens32 on h3."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

from hostnet import errors, ownership
from hostnet.resources import bridge
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _inputs(lab: LabInfo, name: str, host: str = "h2", **fields: Any) -> dict[str, Any]:
    return rl.checked("bridge", {"host": rl.host_input(lab, host), "name": name, **fields})


def _plain_link(host: str, name: str, cleanup: rl.Cleanup) -> None:
    rl.add_link(host, name)
    cleanup.delete_link(host, name)


def test_create_twice_is_the_same_bridge(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    name, port = stem + "br", stem + "p"
    _plain_link("h2", port, cleanup)
    address = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}.1/24"
    inputs = _inputs(lab, name, addresses=[address], ports=[port])
    cleanup.delete_resource("bridge", inputs)
    agent = rl.agent_for(inputs)

    first = bridge.KIND.create(agent, inputs)
    seen = rl.link("h2", name)
    assert seen is not None
    assert first["ifindex"] == seen["ifindex"]
    assert first["mac"] == seen["address"]
    assert seen["ifalias"] == "hostnet:" + first["resource_id"]
    assert rl.addresses("h2", name) == [address]
    assert rl.link("h2", port)["master"] == name  # type: ignore[index]
    before = rl.snapshot("h2")

    second = bridge.KIND.create(agent, inputs)
    assert second == first
    rl.assert_same(before, rl.snapshot("h2"))


def test_delete_twice_succeeds(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    name = rl.uid() + "br"
    inputs = _inputs(lab, name)
    cleanup.delete_resource("bridge", inputs)
    agent = rl.agent_for(inputs)
    before = rl.snapshot("h2")
    outputs = bridge.KIND.create(agent, inputs)
    bridge.KIND.delete(agent, outputs)
    assert rl.link("h2", name) is None
    bridge.KIND.delete(agent, outputs)
    rl.assert_same(before, rl.snapshot("h2"))


def test_read_reports_changes_made_by_hand(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    name, port = stem + "br", stem + "p"
    _plain_link("h2", port, cleanup)
    net = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}"
    inputs = _inputs(lab, name, addresses=[f"{net}.1/24"], ports=[port])
    cleanup.delete_resource("bridge", inputs)
    agent = rl.agent_for(inputs)
    outputs = bridge.KIND.create(agent, inputs)
    assert bridge.KIND.read(agent, outputs) == outputs

    rl.run("h2", "ip", "addr", "add", f"{net}.9/24", "dev", name)
    rl.run("h2", "ip", "link", "set", name, "down", "promisc", "on")
    rl.run("h2", "ip", "link", "set", port, "nomaster")
    drifted = bridge.KIND.read(agent, outputs)
    assert drifted is not None
    assert drifted["addresses"] == [f"{net}.1/24", f"{net}.9/24"]
    assert drifted["up"] is False
    assert drifted["promisc"] is True
    assert drifted["ports"] == []
    assert drifted["ifindex"] == outputs["ifindex"]

    # Applying the inputs again (what `pulumi up` after refresh does) puts it back.
    assert bridge.KIND.update(agent, drifted, inputs) == outputs

    rl.run("h2", "ip", "link", "set", name, "alias", "edited by hand")
    assert bridge.KIND.read(agent, outputs) is None
    rl.run("h2", "ip", "link", "delete", name)
    assert bridge.KIND.read(agent, outputs) is None


def test_foreign_bridge_is_never_adopted(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    name, other = stem + "br", stem + "d"
    rl.run("h2", "ip", "link", "add", name, "type", "bridge")
    cleanup.delete_link("h2", name)
    _plain_link("h2", other, cleanup)
    agent = rl.agent_for(_inputs(lab, name))
    before = rl.snapshot("h2")

    with pytest.raises(errors.NotOwned):
        bridge.KIND.create(agent, _inputs(lab, name, addresses=["198.18.0.1/24"], up=True))
    rl.assert_same(before, rl.snapshot("h2"))
    # A link of another kind under the name is a conflict, not something to convert.
    with pytest.raises(errors.Conflict):
        bridge.KIND.create(agent, _inputs(lab, other))
    rl.assert_same(before, rl.snapshot("h2"))
    # Nor does delete remove a bridge hostnet did not make.
    # Left as it is, with a line in the log: it is not this resource\'s.
    bridge.KIND.delete(agent, _inputs(lab, name))
    rl.assert_same(before, rl.snapshot("h2"))


def test_failed_creates_leave_nothing_behind(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    name, port, foreign = stem + "br", stem + "p", stem + "fb"
    _plain_link("h2", port, cleanup)
    # Up once and down again, so the kernel has attached its default qdisc,
    # which it does on the first up and never takes back.
    rl.run("h2", "ip", "link", "set", port, "up")
    rl.run("h2", "ip", "link", "set", port, "down")
    rl.run("h2", "ip", "link", "add", foreign, "type", "bridge")
    cleanup.delete_link("h2", foreign)
    agent = rl.agent_for(_inputs(lab, name))
    before = rl.snapshot("h2")
    address = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}.1/24"

    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        # Refused before anything is made.
        ({"ports": [stem + "nope"]}, errors.InvalidInput),
        # The kernel refuses lo as a port after the bridge and the first port are done.
        ({"ports": [port, "lo"], "addresses": [address]}, errors.AgentError),
        # The bridge and its port are made, then the uplink to take over is missing.
        ({"ports": [port], "uplink": stem + "nonic"}, errors.AgentError),
    ]
    for fields, error in cases:
        inputs = _inputs(lab, name, **fields)
        cleanup.delete_resource("bridge", inputs)
        with pytest.raises(error):
            bridge.KIND.create(agent, inputs)
        assert rl.link("h2", name) is None
        rl.assert_same(before, rl.snapshot("h2"))

    # A port that already belongs to a foreign bridge stays where it is.
    rl.run("h2", "ip", "link", "set", port, "master", foreign)
    before = rl.snapshot("h2")
    with pytest.raises(errors.InvalidInput, match="already a port"):
        bridge.KIND.create(agent, _inputs(lab, name, ports=[port]))
    rl.assert_same(before, rl.snapshot("h2"))


@pytest.mark.parametrize("how", ["delete", "update"])
def test_a_port_comes_back_as_it_was(lab: LabInfo, cleanup: rl.Cleanup, how: str) -> None:
    """A NIC that was down (promisc on, its own mtu) is up while it is a port, and
    down again, with the same promisc and mtu and no master, once given back."""
    stem = rl.uid()
    name, port = stem + "br", stem + "p"
    _plain_link("h2", port, cleanup)
    # Up once and down again: the kernel attaches its default qdisc on the first up.
    rl.run("h2", "ip", "link", "set", port, "up")
    rl.run("h2", "ip", "link", "set", port, "down", "mtu", "1400", "promisc", "on")
    before = rl.snapshot("h2")
    inputs = _inputs(lab, name, ports=[port])
    cleanup.delete_resource("bridge", inputs)
    agent = rl.agent_for(inputs)

    outputs = bridge.KIND.create(agent, inputs)
    seen = rl.link("h2", port)
    assert seen is not None and seen["master"] == name and "UP" in seen["flags"]
    if how == "delete":
        bridge.KIND.delete(agent, outputs)
    else:
        outputs = bridge.KIND.update(agent, outputs, _inputs(lab, name, ports=[]))
        assert "master" not in rl.link("h2", port)  # type: ignore[operator]
        bridge.KIND.delete(agent, outputs)
    rl.assert_same(before, rl.snapshot("h2"))
    seen = rl.link("h2", port)
    assert seen is not None and "UP" not in seen["flags"] and "PROMISC" in seen["flags"]
    assert seen["mtu"] == 1400


def _restore_uplink_by_hand(name: str) -> None:
    """Put ens32 back without hostnet, should a failed test leave it in the bridge."""
    if rl.link("h3", name) is None:
        return
    address = "10.32.171.204/24"
    rl.run_quietly("h3", "ip", "link", "set", "ens32", "nomaster")
    rl.run_quietly("h3", "ip", "addr", "del", address, "dev", name)
    rl.run_quietly("h3", "ip", "addr", "add", address, "dev", "ens32")
    rl.run_quietly("h3", "ip", "route", "replace", "default", "via", "10.32.171.1", "dev", "ens32")
    rl.run_quietly("h3", "ip", "link", "delete", name)
    assert address in rl.addresses("h3", "ens32")


# What a real uplink also carries: a second address, a route with a metric and
# a route in another table (policy routing); all of it moves and comes back.
_UPLINK_EXTRAS = (
    (
        ("addr", "add", "198.18.0.204/24", "dev", "ens32"),
        ("addr", "del", "198.18.0.204/24", "dev", "ens32"),
    ),
    (
        ("route", "add", "198.51.100.0/24", "via", "10.32.171.1", "metric", "100"),
        ("route", "del", "198.51.100.0/24", "metric", "100"),
    ),
    (
        ("route", "add", "198.19.0.0/24", "via", "10.32.171.1", "dev", "ens32", "table", "100"),
        ("route", "del", "198.19.0.0/24", "table", "100"),
    ),
)


def test_uplink_takeover_keeps_the_session_and_gives_everything_back(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    name = rl.uid() + "up"
    for make, remove in _UPLINK_EXTRAS:
        rl.run("h3", "ip", *make)
        cleanup.add(functools.partial(rl.run_quietly, "h3", "ip", *remove))
    nic_before = rl.link("h3", "ens32")
    assert nic_before is not None and nic_before.get("master") is None
    before = {
        "ens32": rl.link_text("h3", dev="ens32"),
        "addresses": rl.addr_text("h3"),
        "routes": rl.routes("h3"),
    }
    cleanup.add(lambda: _restore_uplink_by_hand(name))
    inputs = _inputs(lab, name, host="h3", uplink="ens32")
    agent = rl.agent_for(inputs)

    outputs = bridge.KIND.create(agent, inputs)
    # The same SSH session (the agent's) carried the request and still answers.
    assert agent.alive and agent.call("ping") == {"pong": True}
    assert rl.agent_for(inputs) is agent
    seen = rl.links("h3")
    assert seen[name]["address"] == nic_before["address"] == outputs["mac"]
    assert seen["ens32"]["master"] == name
    assert rl.addresses("h3", name) == ["10.32.171.204/24", "198.18.0.204/24"]
    assert rl.addresses("h3", "ens32") == []
    routes = rl.routes("h3")
    assert f"default via 10.32.171.1 dev {name}" in routes
    assert f"198.51.100.0/24 via 10.32.171.1 dev {name} metric 100" in routes
    assert f"198.19.0.0/24 via 10.32.171.1 dev {name} table 100" in routes
    assert not [r for r in routes if " dev ens32" in r], routes
    assert bridge.KIND.read(agent, outputs) == outputs
    state = rl.snapshot("h3")
    assert bridge.KIND.create(agent, inputs) == outputs
    rl.assert_same(state, rl.snapshot("h3"))

    bridge.KIND.delete(agent, outputs)
    assert agent.call("ping") == {"pong": True}
    assert rl.link("h3", name) is None
    rl.assert_same(
        before,
        {
            "ens32": rl.link_text("h3", dev="ens32"),
            "addresses": rl.addr_text("h3"),
            "routes": rl.routes("h3"),
        },
    )


@pytest.mark.parametrize("resource", ["br", "renamed"])
def test_a_replacement_takes_the_bridge_over_with_its_ports(
    lab: LabInfo, cleanup: rl.Cleanup, resource: str
) -> None:
    """Pulumi's create-before-delete of a bridge with a port (``up --replace``, or
    the resource renamed): the new instance takes the bridge and the port's record
    over, the old instance's delete leaves both, and the new one's delete gives the
    port back as it was."""
    stem = rl.uid()
    name, port = stem + "br", stem + "p"
    _plain_link("h2", port, cleanup)
    # Up once and down again: the kernel attaches its default qdisc on the first up.
    rl.run("h2", "ip", "link", "set", port, "up")
    rl.run("h2", "ip", "link", "set", port, "down")
    before = rl.snapshot("h2")

    def instance(resource: str, token: str) -> dict[str, Any]:
        owner = {"stack": "seed/lab", "resource": resource}
        return ownership.with_token(_inputs(lab, name, ports=[port], owner=owner), token=token)

    old, new = instance("br", "000000000001"), instance(resource, "000000000002")
    cleanup.delete_resource("bridge", old)
    cleanup.delete_resource("bridge", new)
    agent = rl.agent_for(old)
    made = bridge.KIND.create(agent, old)
    taken = bridge.KIND.create(agent, new)
    bridge.KIND.delete(agent, made)
    assert bridge.KIND.read(agent, taken) == taken
    assert rl.link("h2", port)["master"] == name  # type: ignore[index]
    bridge.KIND.delete(agent, taken)
    assert rl.link("h2", name) is None
    rl.assert_same(before, rl.snapshot("h2"))


def test_addresses_listed_by_the_kernel_in_its_own_order_are_no_drift(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    """The kernel lists IPv6 addresses newest first; the declared set is what counts."""
    stem = rl.uid()
    name, octet = stem + "br", rl.spare_octet(stem)
    addresses = [f"fd00:{octet:x}::1/64", f"fd00:{octet:x}:1::1/64"]
    inputs = _inputs(lab, name, addresses=addresses)
    cleanup.delete_resource("bridge", inputs)
    agent = rl.agent_for(inputs)
    outputs = bridge.KIND.create(agent, inputs)
    assert outputs["addresses"] == addresses
    assert bridge.KIND.read(agent, outputs) == outputs
    assert bridge.KIND.update(agent, outputs, inputs) == outputs
