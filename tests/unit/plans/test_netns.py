"""Namespace plans: made and deleted again on failure, or taken over as it is."""

from __future__ import annotations

from hostnet.resources import netns

RID = "h1/netns/ns1"
SPEC = {"host": {"name": "h1", "address": "10.0.0.1"}, "name": "ns1", "resource_id": RID}


def test_a_new_namespace_is_deleted_again_if_the_create_fails() -> None:
    assert str(netns.plan(SPEC, None, {})) == (
        f"netns_ensure name='ns1' owner='{RID}'  (undo: netns_delete name='ns1' owner='{RID}')"
    )


def test_a_namespace_that_is_there_stays_if_the_create_fails() -> None:
    plan = netns.plan(SPEC, {"name": "ns1", "owner": {"id": RID}}, {})
    assert str(plan) == f"netns_ensure name='ns1' owner='{RID}'"
    assert not plan.makes
