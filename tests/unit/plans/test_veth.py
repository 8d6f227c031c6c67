"""Veth plans: the pair is ensured, both ends set, the bridge joined last."""

from __future__ import annotations

from hostnet.resources import veth

RID = "h1/veth/ve0"
SPEC = {
    "host": {"name": "h1", "address": "10.0.0.1"},
    "name": "ve0",
    "peer_name": "eth0",
    "peer_netns": "ns1",
    "master": "br0",
    "addresses": [],
    "peer_addresses": ["192.168.5.2/24"],
    "resource_id": RID,
}
SET_ENDS = [
    "addr_replace addresses=[] ifname='ve0'",
    "addr_replace addresses=['192.168.5.2/24'] ifname='eth0' netns='ns1'",
    f"link_set ifname='eth0' netns='ns1' owner='{RID}' promisc=False up=True",
    f"link_set ifname='ve0' master='br0' owner='{RID}' promisc=False up=True",
]


def test_a_new_pair_is_deleted_again_if_the_plan_fails() -> None:
    plan = veth.plan(SPEC, None, {})
    assert str(plan).splitlines() == [
        f"link_ensure_veth ifname='ve0' owner='{RID}' peer_ifname='eth0' peer_netns='ns1'"
        f"  (undo: link_delete ifname='ve0' owner='{RID}')",
        *SET_ENDS,
    ]


def test_a_pair_that_is_there_is_left_by_a_failing_plan_and_leaves_its_bridge() -> None:
    plan = veth.plan({**SPEC, "master": None}, {"ifname": "ve0", "master": "br0"}, {})
    assert str(plan).splitlines() == [
        f"link_ensure_veth ifname='ve0' owner='{RID}' peer_ifname='eth0' peer_netns='ns1'",
        *SET_ENDS[:3],
        f"link_set ifname='ve0' master='' owner='{RID}' promisc=False up=True",
    ]
    assert not plan.makes


def test_retire_deletes_the_host_end_which_takes_the_peer() -> None:
    assert [str(op) for op in veth.retire(SPEC)] == [
        str(veth.plan(SPEC, None, {}).steps[0].undo[0])
    ]
