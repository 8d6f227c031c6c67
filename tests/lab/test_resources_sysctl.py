"""Sysctl against lab hosts over real SSH: the value before the first write comes
back on delete; idempotence, drift, another owner, failed writes. Keys are those
of a link or a namespace made for the test, so no test changes a setting
the lab relies on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import sysctl
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _plain_link(cleanup: rl.Cleanup) -> str:
    name = rl.uid()
    rl.add_link("h2", name)
    cleanup.delete_link("h2", name)
    return name


def _inputs(lab: LabInfo, key: str, value: Any, **fields: Any) -> dict[str, Any]:
    news = {"host": rl.host_input(lab, "h2"), "key": key, "value": value}
    return rl.checked("sysctl", {**news, **fields})


def _value(key: str, netns: str | None = None) -> str:
    prefix = ("ip", "netns", "exec", netns) if netns else ()
    return rl.run("h2", *prefix, "sysctl", "-n", key).strip()


def _records() -> str:
    return rl.sysctl_records("h2")


def test_delete_restores_the_value_found_before_the_first_write(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    key = f"net.ipv4.conf.{_plain_link(cleanup)}.forwarding"
    assert _value(key) == "0"
    inputs = _inputs(lab, key, 1.0)  # as Pulumi sends numbers
    assert inputs["value"] == "1"
    cleanup.delete_resource("sysctl", inputs)
    agent = rl.agent_for(inputs)
    outputs = sysctl.KIND.create(agent, inputs)
    assert (outputs["value"], outputs["previous"]) == ("1", "0")
    assert _value(key) == "1"
    # Updates keep the first previous value, whatever they write.
    updated = sysctl.KIND.update(agent, outputs, _inputs(lab, key, "1"))
    assert updated["previous"] == "0"
    sysctl.KIND.delete(agent, updated)
    assert _value(key) == "0"
    sysctl.KIND.delete(agent, updated)
    assert _value(key) == "0"
    assert key not in _records()


def test_in_a_namespace(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    ns = rl.uid() + "ns"
    rl.run("h2", "ip", "netns", "add", ns)
    cleanup.delete_netns("h2", ns)
    inputs = _inputs(lab, "net.ipv4.ip_forward", "1", netns=ns)
    cleanup.delete_resource("sysctl", inputs)
    agent = rl.agent_for(inputs)
    host_value = _value("net.ipv4.ip_forward")
    outputs = sysctl.KIND.create(agent, inputs)
    assert _value("net.ipv4.ip_forward", ns) == "1"
    assert _value("net.ipv4.ip_forward") == host_value
    sysctl.KIND.delete(agent, outputs)
    assert _value("net.ipv4.ip_forward", ns) == "0"


def test_create_twice_changes_nothing(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    key = f"net.ipv4.conf.{_plain_link(cleanup)}.rp_filter"
    original = _value(key)
    inputs = _inputs(lab, key, "2")
    cleanup.delete_resource("sysctl", inputs)
    agent = rl.agent_for(inputs)
    first = sysctl.KIND.create(agent, inputs)
    before = {"value": _value(key), "records": _records(), **rl.snapshot("h2")}
    second = sysctl.KIND.create(agent, inputs)
    assert second == first
    assert second["previous"] == original  # not the value the first create wrote
    rl.assert_same(before, {"value": _value(key), "records": _records(), **rl.snapshot("h2")})


def test_read_reports_changes_made_by_hand(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    link = _plain_link(cleanup)
    key = f"net.ipv4.conf.{link}.forwarding"
    inputs = _inputs(lab, key, "1")
    cleanup.delete_resource("sysctl", inputs)
    agent = rl.agent_for(inputs)
    outputs = sysctl.KIND.create(agent, inputs)
    assert sysctl.read(agent, outputs) == outputs
    rl.run("h2", "sysctl", "-q", "-w", f"{key}=0")
    drifted = sysctl.read(agent, outputs)
    assert drifted is not None and drifted["value"] == "0"
    rl.run("h2", "ip", "link", "delete", link)
    assert sysctl.read(agent, outputs) is None
    # The setting went with its link: delete has nothing to put back, and succeeds.
    sysctl.KIND.delete(agent, outputs)
    assert key not in _records()


def test_another_owner_is_refused_and_nothing_changes(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    key = f"net.ipv4.conf.{_plain_link(cleanup)}.forwarding"
    inputs = _inputs(lab, key, "1")
    cleanup.delete_resource("sysctl", inputs)
    agent = rl.agent_for(inputs)
    outputs = sysctl.KIND.create(agent, inputs)
    # The same machine under another host name is another owner.
    other = _inputs(lab, key, "0", host=rl.host_input(lab, "h2", alias="h2b"))
    before = {"value": _value(key), "records": _records()}
    with pytest.raises(errors.NotOwned):
        sysctl.KIND.create(rl.agent_for(other), other)
    assert {"value": _value(key), "records": _records()} == before
    # Left as it is, with a line in the log: it is not this resource\'s.
    sysctl.KIND.delete(rl.agent_for(other), other)
    assert {"value": _value(key), "records": _records()} == before
    sysctl.KIND.delete(agent, outputs)
    assert _value(key) == "0"


def test_failed_writes_leave_no_record(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    link = _plain_link(cleanup)
    before = {"records": _records(), **rl.snapshot("h2")}
    cases = [
        ("NotFound", _inputs(lab, f"net.ipv4.conf.{link}.no_such_key", "1")),
        # The kernel refuses the value after the record was written.
        ("Failed", _inputs(lab, f"net.ipv4.conf.{link}.forwarding", "yes")),
        ("NotFound", _inputs(lab, "net.ipv4.ip_forward", "1", netns=link + "nons")),
    ]
    for kind, inputs in cases:
        cleanup.delete_resource("sysctl", inputs)
        with pytest.raises(errors.AgentError) as failed:
            sysctl.KIND.create(rl.agent_for(inputs), inputs)
        assert failed.value.kind == kind
        rl.assert_same(before, {"records": _records(), **rl.snapshot("h2")})
