"""Netns against lab hosts over real SSH: idempotence, drift, foreign namespaces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import netns
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _inputs(lab: LabInfo, name: str) -> dict[str, Any]:
    return rl.checked("netns", {"host": rl.host_input(lab, "h2"), "name": name})


def _state(name: str) -> dict[str, Any]:
    inside = rl.link_text("h2", name) if name in rl.netns_names("h2") else None
    return {**rl.snapshot("h2"), "inside": inside}


def test_create_twice_changes_nothing(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    name = rl.uid() + "ns"
    inputs = _inputs(lab, name)
    cleanup.delete_resource("netns", inputs)
    agent = rl.agent_for(inputs)
    first = netns.KIND.create(agent, inputs)
    assert first["resource_id"] == "h2/netns/" + name
    assert name in rl.netns_names("h2")
    lo = rl.link("h2", "lo", name)
    assert lo is not None and lo["ifalias"] == "hostnet:h2/netns/" + name
    before = _state(name)
    assert netns.KIND.create(agent, inputs) == first
    rl.assert_same(before, _state(name))


def test_delete_twice_succeeds(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    name = rl.uid() + "ns"
    inputs = _inputs(lab, name)
    cleanup.delete_resource("netns", inputs)
    agent = rl.agent_for(inputs)
    before = rl.snapshot("h2")
    outputs = netns.KIND.create(agent, inputs)
    netns.KIND.delete(agent, outputs)
    netns.KIND.delete(agent, outputs)
    assert name not in rl.netns_names("h2")
    rl.assert_same(before, rl.snapshot("h2"))


def test_read_reports_changes_made_by_hand(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    name = rl.uid() + "ns"
    inputs = _inputs(lab, name)
    cleanup.delete_resource("netns", inputs)
    cleanup.delete_netns("h2", name)
    agent = rl.agent_for(inputs)
    outputs = netns.KIND.create(agent, inputs)
    assert netns.read(agent, outputs) == outputs
    # The mark removed: no longer hostnet's namespace.
    rl.run("h2", "ip", "-n", name, "link", "set", "lo", "alias", "")
    assert netns.read(agent, outputs) is None
    # Left as it is, with a line in the log: it is not this resource\'s.
    netns.KIND.delete(agent, outputs)
    assert name in rl.netns_names("h2")
    rl.run("h2", "ip", "netns", "delete", name)
    assert netns.read(agent, outputs) is None


def test_foreign_namespace_is_never_adopted(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    name = rl.uid() + "ns"
    rl.run("h2", "ip", "netns", "add", name)
    cleanup.delete_netns("h2", name)
    inputs = _inputs(lab, name)
    agent = rl.agent_for(inputs)
    before = _state(name)
    with pytest.raises(errors.NotOwned):
        netns.KIND.create(agent, inputs)
    rl.assert_same(before, _state(name))
    # Left as it is, with a line in the log: it is not this resource\'s.
    netns.KIND.delete(agent, inputs)
    rl.assert_same(before, _state(name))


def test_a_stray_file_under_the_name_is_left_alone(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    """A plain file in /run/netns (not a namespace): refused, not replaced."""
    name = rl.uid() + "ns"
    path = f"/run/netns/{name}"
    rl.run("h2", "sh", "-c", 'mkdir -p /run/netns && echo stray > "$1"', "-", path)
    cleanup.add(lambda: rl.run_quietly("h2", "rm", "-f", path))
    inputs = _inputs(lab, name)
    agent = rl.agent_for(inputs)
    before = rl.snapshot("h2")
    with pytest.raises(errors.NotOwned):
        netns.KIND.create(agent, inputs)
    assert netns.read(agent, inputs) is None
    rl.assert_same(before, rl.snapshot("h2"))
    assert rl.run("h2", "cat", path) == "stray\n"
