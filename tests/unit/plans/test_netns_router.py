"""Router plans: the namespace, forwarding, one veth leg per network, routes."""

from __future__ import annotations

from typing import Any

from hostnet.resources import netns_router

RID = "h1/router/rt0"
LEG = {"name": "rt0.eth0", "inside_name": "veth0", "address": "10.1.0.1/24", "bridge": "br0"}
SPEC: dict[str, Any] = {
    "host": {"name": "h1", "address": "10.0.0.1"},
    "name": "rt0",
    "interfaces": [LEG],
    "routes": [{"dst": "10.9.0.0/16", "via": "10.1.0.254"}],
    "forwarding": True,
    "resource_id": RID,
}
OWN = f"owner='{RID}'"
LEG_STEPS = [
    "addr_replace addresses=['10.1.0.1/24'] ifname='veth0' netns='rt0'",
    f"link_set ifname='veth0' netns='rt0' {OWN} up=True",
    f"link_set ifname='rt0.eth0' master='br0' {OWN} up=True",
]
FORWARDING = f"sysctl_write key='net.ipv4.ip_forward' netns='rt0' {OWN} record=False value='1'"


def test_a_new_router_takes_back_its_namespace_and_its_leg_on_failure() -> None:
    plan = netns_router.plan(SPEC, {"netns": None, "host_links": ["ens32"]}, {})
    assert str(plan).splitlines() == [
        f"netns_ensure name='rt0' {OWN}  (undo: netns_delete name='rt0' {OWN})",
        FORWARDING,
        f"link_ensure_veth ifname='rt0.eth0' {OWN} peer_ifname='veth0' peer_netns='rt0'"
        f"  (undo: link_delete ifname='rt0.eth0' {OWN})",
        *LEG_STEPS,
        f"route_ensure dst='10.9.0.0/16' netns='rt0' {OWN} via='10.1.0.254'",
    ]


def test_an_update_remakes_a_leg_whose_inside_end_is_renamed_and_drops_old_routes() -> None:
    olds = {
        **SPEC,
        "interfaces": [{**LEG, "inside_name": "eth9"}],
        "routes": [{"dst": "0.0.0.0/0"}],
    }
    found = {"netns": {"name": "rt0"}, "host_links": ["rt0.eth0"]}
    plan = netns_router.plan({**SPEC, "routes": []}, found, olds)
    assert str(plan).splitlines() == [
        f"netns_ensure name='rt0' {OWN}",
        FORWARDING,
        f"link_delete ifname='rt0.eth0' {OWN}",
        f"link_ensure_veth ifname='rt0.eth0' {OWN} peer_ifname='veth0' peer_netns='rt0'"
        f"  (undo: link_delete ifname='rt0.eth0' {OWN})",
        *LEG_STEPS,
        f"route_delete dst='0.0.0.0/0' netns='rt0' {OWN}",
    ]


def test_retire_deletes_routes_and_legs_before_the_namespace() -> None:
    ops = netns_router.retire(SPEC)
    assert [
        (op.op, op.args.get("dst") or op.args.get("ifname") or op.args["name"]) for op in ops
    ] == [
        ("route_delete", "10.9.0.0/16"),
        ("link_delete", "rt0.eth0"),
        ("netns_delete", "rt0"),
    ]
