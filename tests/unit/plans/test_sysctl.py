"""Sysctl plans and outputs: the write undone by a restore unless a record was
there, and the value found before the first write kept across updates."""

from __future__ import annotations

from hostnet.resources import sysctl

RID = "h1/sysctl/net.ipv4.ip_forward"
HOST = {"name": "h1", "address": "10.0.0.1"}
SPEC = {"host": HOST, "key": "net.ipv4.ip_forward", "value": "1", "resource_id": RID}
WRITE = f"sysctl_write key='net.ipv4.ip_forward' owner='{RID}' value='1'"


def test_a_first_write_is_restored_if_the_create_fails() -> None:
    for observed in (None, {"value": "0", "owner": None}):
        assert str(sysctl.plan(SPEC, observed, {})) == (
            f"{WRITE}  (undo: sysctl_restore key='net.ipv4.ip_forward' owner='{RID}')"
        )


def test_a_recorded_setting_is_taken_over_and_keeps_its_record() -> None:
    observed = {"value": "0", "owner": {"id": "h1/sysctl/old-name"}}
    plan = sysctl.plan({**SPEC, "netns": "ns1"}, observed, {})
    assert str(plan) == (
        f"sysctl_write key='net.ipv4.ip_forward' netns='ns1' owner='{RID}' value='1'"
    )
    assert not plan.makes


def test_create_records_the_value_the_write_replaced() -> None:
    outputs = sysctl.settle(SPEC, [{"previous": "0", "created": True}], {})
    assert outputs == {**SPEC, "previous": "0"}


def test_update_keeps_the_value_found_before_the_first_write() -> None:
    olds = {**SPEC, "value": "0", "previous": "0"}
    # The write of the update found the value the create wrote.
    outputs = sysctl.settle({**SPEC, "value": "2"}, [{"previous": "1"}], olds)
    assert outputs["previous"] == "0"
    assert outputs["resource_id"] == RID
