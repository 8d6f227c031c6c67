"""Vxlan: check names field and reason, diff says what replaces and what updates."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet.ids import parse_id
from hostnet.resources import KINDS, diff
from hostnet.unknown import UNKNOWN

vxlan = KINDS["vxlan"]
HOST = {"name": "h1", "address": "10.32.171.202", "trust_on_first_use": True}
VALID = {
    "host": HOST,
    "name": "vx-overlay",
    "vni": 42.0,
    "local": "10.32.171.202",
    "remotes": ["10.32.171.203", "10.32.171.204"],
    "master": "br-overlay",
}


def _inputs(**overrides: Any) -> dict[str, Any]:
    return {k: v for k, v in {**VALID, **overrides}.items() if v is not None}


def test_valid_inputs_get_the_defaults_and_a_readable_id() -> None:
    inputs, failures = vxlan.check(_inputs())
    assert failures == []
    assert inputs["vni"] == 42 and isinstance(inputs["vni"], int)
    assert inputs["dstport"] == 4789
    assert inputs["learning"] is True
    assert "mtu" not in inputs  # the underlay's minus 50, found on the host
    assert parse_id(vxlan.make_id(inputs)).kind == "vxlan"
    multicast, failures = vxlan.check(
        _inputs(remotes=None, group="239.1.1.42", dev="ens32", dstport=8472.0)
    )
    assert failures == [] and multicast["dstport"] == 8472


REJECT = [
    ({"vni": None}, "vni", "is required"),
    ({"vni": 2.0**24}, "vni", "outside 1..16777215"),
    ({"local": "10.32.171.300"}, "local", "not an IP address"),
    ({"local": "239.1.1.1"}, "local", "cannot be a VTEP's own address"),
    ({"remotes": ["10.32.171.203", "10.32.171.203"]}, "remotes[1]", "listed twice"),
    ({"remotes": ["239.1.1.1"]}, "remotes[0]", "multicast address; give it as group"),
    ({"remotes": ["10.32.171.202"]}, "remotes[0]", "own local address"),
    ({"remotes": ["fd00::2"]}, "remotes[0]", "is IPv6; local 10.32.171.202 is IPv4"),
    ({"remotes": "10.32.171.203"}, "remotes", "must be a list"),
    ({"local": None, "remotes": ["fd00::2"]}, "remotes[0]", "without it the device is IPv4"),
    ({"group": "10.1.1.1", "remotes": None, "dev": "ens32"}, "group", "not a multicast"),
    ({"group": "239.1.1.1", "dev": "ens32"}, "group", "not both"),
    ({"group": "239.1.1.1", "remotes": None}, "dev", "needs the underlay device"),
    ({"dstport": 0.0}, "dstport", "outside 1..65535"),
    ({"ttl": 256.0}, "ttl", "outside 0..255"),
    ({"learning": "yes"}, "learning", "not true or false"),
    ({"mtu": 40.0}, "mtu", "outside 68..65535"),
    ({"master": "vx-overlay"}, "master", "cannot be the bridge of this device"),
    ({"dev": "vx-overlay"}, "dev", "its own underlay"),
    ({"name": "vx-overlay-too-long"}, "name", "at most 15"),
]


@pytest.mark.parametrize(("change", "field", "reason"), REJECT)
def test_check_rejects(change: dict[str, Any], field: str, reason: str) -> None:
    _, failures = vxlan.check(_inputs(**change))
    assert field in [f.field for f in failures], failures
    assert any(reason in f.reason for f in failures if f.field == field), failures


def test_unknown_peers_pass_preview() -> None:
    inputs, failures = vxlan.check(_inputs(remotes=[UNKNOWN], local=UNKNOWN))
    assert failures == []
    assert inputs["local"] is UNKNOWN and inputs["remotes"] == [UNKNOWN]


DIFFS = [
    # Peers, MTU and bridge change in place: the device and its ifindex stay.
    ({"remotes": ["10.32.171.203"]}, [], False),
    ({"remotes": ["10.32.171.204", "10.32.171.203", "10.32.171.205"]}, [], False),
    ({"mtu": 1400.0}, [], False),
    ({"master": "br-other"}, [], False),
    # The device itself: deleted first (one device per name, and per VNI and port).
    ({"vni": 43.0}, ["vni"], True),
    ({"local": "10.32.171.212"}, ["local"], True),
    ({"dstport": 8472.0}, ["dstport"], True),
    ({"ttl": 8.0}, ["ttl"], True),
    ({"learning": False}, ["learning"], True),
    ({"name": "vx2"}, ["name"], True),
    ({"netns": "blue"}, ["netns"], True),
    ({"dev": "ens32"}, ["dev"], True),
    ({"host": {**HOST, "address": "10.32.171.212"}}, ["host"], False),
]


@pytest.mark.parametrize(("change", "replaces", "first"), DIFFS)
def test_diff(change: dict[str, Any], replaces: list[str], first: bool) -> None:
    olds, _ = vxlan.check(_inputs())
    news, failures = vxlan.check(_inputs(**change))
    assert failures == []
    found = diff(policy=vxlan.policy, olds={**olds, "ifindex": 7}, news=news)
    assert found.changes
    assert found.replaces == replaces
    assert found.delete_before_replace is first


def test_no_change_is_no_diff() -> None:
    olds, _ = vxlan.check(_inputs())
    news, _ = vxlan.check(_inputs())
    assert not diff(policy=vxlan.policy, olds={**olds, "default_mtu": 1450}, news=news).changes
