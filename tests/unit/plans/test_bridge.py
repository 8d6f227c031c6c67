"""Bridge plans: what the host has and the spec in, the steps out (no host)."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import bridge

RID = "h1/bridge/br0"
SPEC = {
    "host": {"name": "h1", "address": "10.0.0.1"},
    "name": "br0",
    "addresses": ["192.168.5.1/24"],
    "ports": ["ens34"],
    "resource_id": RID,
}
NIC = {"ifname": "ens34", "master": None, "owner": None}


def _bridge(**fields: Any) -> dict[str, Any]:
    return {"ifname": "br0", "kind": "bridge", "owner": {"id": RID}, **fields}


def test_a_new_bridge_is_made_with_its_port_and_both_are_taken_back_on_failure() -> None:
    plan = bridge.plan(SPEC, {"bridge": None, "links": [NIC]}, {})
    assert str(plan).splitlines() == [
        f"link_ensure_bridge ifname='br0' owner='{RID}'"
        f"  (undo: link_delete ifname='br0' owner='{RID}')",
        f"port_attach ifname='ens34' master='br0' owner='{RID}'"
        f"  (undo: port_release ifname='ens34' master='br0' owner='{RID}')",
        "addr_replace addresses=['192.168.5.1/24'] ifname='br0'",
        f"link_set ifname='br0' owner='{RID}' promisc=False up=True",
    ]


def test_a_bridge_that_is_there_keeps_its_port_and_releases_one_no_longer_listed() -> None:
    links = [_bridge(), {**NIC, "master": "br0"}, {"ifname": "ens35", "master": "br0"}]
    plan = bridge.plan(SPEC, {"bridge": links[0], "links": links}, {})
    assert str(plan).splitlines() == [
        f"link_ensure_bridge ifname='br0' owner='{RID}'",
        f"port_attach ifname='ens34' master='br0' owner='{RID}'",
        f"port_release ifname='ens35' master='br0' owner='{RID}'",
        "addr_replace addresses=['192.168.5.1/24'] ifname='br0'",
        f"link_set ifname='br0' owner='{RID}' promisc=False up=True",
    ]


def test_an_uplink_is_taken_over_and_given_back_keeping_the_bridge_on_failure() -> None:
    spec = {**SPEC, "addresses": [], "ports": [], "uplink": "ens32", "mtu": 1400}
    plan = bridge.plan(spec, {"bridge": None, "links": [{"ifname": "ens32"}]}, {})
    nic = f"nic='ens32' owner='{RID}'"
    assert str(plan).splitlines() == [
        f"link_ensure_bridge ifname='br0' mtu=1400 owner='{RID}'"
        f"  (undo: link_delete ifname='br0' owner='{RID}')",
        f"uplink_takeover bridge='br0' {nic}"
        f"  (undo: uplink_release bridge='br0' keep_bridge=True {nic})",
        f"link_set ifname='br0' mtu=1400 owner='{RID}' promisc=False up=True",
    ]


@pytest.mark.parametrize(
    ("links", "reason"),
    [
        ([], "'ens34' does not exist on the host"),
        ([{**NIC, "master": "docker0"}], "'ens34' is already a port of 'docker0'"),
    ],
)
def test_a_port_the_host_cannot_give_is_refused_by_the_plan(
    links: list[dict[str, Any]], reason: str
) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        bridge.plan(SPEC, {"bridge": None, "links": links}, {})
    assert caught.value.field == "ports"
    assert reason in str(caught.value)


def test_retire_releases_the_ports_before_the_bridge_goes() -> None:
    assert [str(op.op) for op in bridge.retire(SPEC)] == ["port_release", "link_delete"]
    uplink = bridge.retire({**SPEC, "ports": [], "uplink": "ens32"})
    assert [(op.op, op.args["nic"]) for op in uplink] == [("uplink_release", "ens32")]
