"""Vxlan plans: the device, its flooding entries added and removed, the MTU."""

from __future__ import annotations

from typing import Any

from hostnet.resources import vxlan

RID = "h2/vxlan/vx0"
SPEC: dict[str, Any] = {
    "host": {"name": "h2", "address": "10.0.0.2"},
    "name": "vx0",
    "vni": 42,
    "local": "10.32.171.203",
    "dstport": 4789,
    "learning": True,
    "remotes": ["10.32.171.202", "10.32.171.204"],
    "resource_id": RID,
}
UNDERLAY = [{"ifname": "ens32", "mtu": 1500, "addresses": ["10.32.171.203/24"]}]
FDB = f"ifname='vx0' mac='00:00:00:00:00:00' owner='{RID}'"


def test_a_new_device_gets_the_underlay_mtu_less_the_encapsulation_and_its_entries() -> None:
    plan = vxlan.plan(SPEC, {"flooding": None, "links": UNDERLAY}, {})
    assert str(plan).splitlines() == [
        f"link_ensure_vxlan dstport=4789 ifname='vx0' learning=True local='10.32.171.203'"
        f" mtu=1450 owner='{RID}' vni=42  (undo: link_delete ifname='vx0' owner='{RID}')",
        # The entries of a new device go with it: they need no undo of their own.
        f"fdb_ensure dst='10.32.171.202' {FDB}",
        f"fdb_ensure dst='10.32.171.204' {FDB}",
        f"link_set ifname='vx0' master='' mtu=1450 owner='{RID}' up=True",
    ]


def test_on_a_device_that_is_there_a_new_peer_is_undone_and_a_dropped_one_deleted() -> None:
    have = {"flooding": ["10.32.171.202", "10.32.171.209"], "links": UNDERLAY}
    plan = vxlan.plan({**SPEC, "mtu": 1400}, have, {})
    assert str(plan).splitlines() == [
        f"link_ensure_vxlan dstport=4789 ifname='vx0' learning=True local='10.32.171.203'"
        f" mtu=1400 owner='{RID}' vni=42",
        f"fdb_ensure dst='10.32.171.204' {FDB}  (undo: fdb_delete dst='10.32.171.204' {FDB})",
        f"fdb_delete dst='10.32.171.209' ifname='vx0' learned=True mac='00:00:00:00:00:00'"
        f" owner='{RID}'",
        f"link_set ifname='vx0' master='' mtu=1400 owner='{RID}' up=True",
    ]


def test_without_an_underlay_found_the_kernel_chooses_the_mtu() -> None:
    plan = vxlan.plan({**SPEC, "local": "10.9.9.9"}, {"flooding": None, "links": UNDERLAY}, {})
    assert "mtu" not in plan.steps[0].op.wire()["args"]


def test_settle_keeps_the_mtu_link_set_reported_as_the_default() -> None:
    outputs = vxlan.settle(SPEC, [{}, {"ifname": "vx0", "mtu": 1450}], {})
    assert outputs == {**SPEC, "default_mtu": 1450}
