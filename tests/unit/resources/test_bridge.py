"""Bridge: which inputs check accepts, and how diff classifies changes."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet.resources import bridge, diff
from hostnet.unknown import UNKNOWN

HOST = {"name": "h1", "address": "10.32.171.202", "port": 22.0, "trust_on_first_use": True}


def _inputs(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"host": HOST, "name": "bridge0", "addresses": ["192.168.5.1/24"]}
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"name": "a" * 16}, "name", "16 bytes; Linux allows at most 15"),
        ({"name": "br 0"}, "name", "characters"),
        ({"name": None}, "name", "is required"),
        ({"addresses": ["192.168.5.1"]}, "addresses[0]", "needs a prefix length"),
        ({"addresses": ["192.168.5.300/24"]}, "addresses[0]", "192.168.5.300"),
        ({"addresses": ["192.168.5.1/24", "192.168.5.1/24"]}, "addresses[1]", "listed twice"),
        ({"ports": ["ens34", "ens34"]}, "ports[1]", "listed twice"),
        ({"ports": ["bridge0"]}, "ports", "port of itself"),
        ({"mtu": 1500.5}, "mtu", "not a whole number"),
        ({"mtu": 20.0}, "mtu", "outside 68..65535"),
        ({"promisc": "yes"}, "promisc", "not true or false"),
        ({"netns": "a/../b"}, "netns", "not a namespace name"),
        ({"host": {"address": "x", "trust_on_first_use": True}}, "host.name", "is required"),
    ],
)
def test_check_rejects_with_field_and_reason(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    _, failures = bridge.check(_inputs(**overrides))
    assert [f.field for f in failures] == [field]
    assert reason in failures[0].reason


def test_check_normalises_floats_and_defaults() -> None:
    inputs, failures = bridge.check(_inputs(mtu=1500.0, addresses=["192.168.5.1/24"]))
    assert failures == []
    assert inputs["mtu"] == 1500 and isinstance(inputs["mtu"], int)
    assert inputs["host"]["port"] == 22 and isinstance(inputs["host"]["port"], int)
    assert inputs["up"] is True and inputs["promisc"] is False


def test_check_passes_unknowns_through() -> None:
    inputs, failures = bridge.check(_inputs(addresses=UNKNOWN, name=UNKNOWN))
    assert failures == []
    assert inputs["addresses"] is UNKNOWN and inputs["name"] is UNKNOWN


def _outputs(**overrides: Any) -> dict[str, Any]:
    inputs, _ = bridge.check(_inputs())
    outs = {**inputs, "ifindex": 7, "mac": "aa:bb:cc:dd:ee:ff", "resource_id": "h1/bridge/bridge0"}
    outs.update(overrides)
    return outs


@pytest.mark.parametrize(
    ("change", "changes", "replaces"),
    [
        ({}, False, []),
        ({"addresses": ["192.168.5.1/24", "192.168.5.9/24"]}, True, []),
        ({"ports": ["ens34"]}, True, []),
        ({"mtu": 9000}, True, []),
        ({"up": False}, True, []),
        ({"name": "bridge9"}, True, ["name"]),
        ({"netns": "other"}, True, ["netns"]),
        ({"host": {**HOST, "port": 22, "name": "h2"}}, True, ["host"]),
        # Another address is another machine: made there, removed here.
        ({"host": {**HOST, "port": 22, "address": "10.0.0.9"}}, True, ["host"]),
        ({"host": {**HOST, "port": 2222}}, True, []),
        ({"uplink": "ens32", "addresses": []}, True, ["uplink"]),
        ({"private_key": "new"}, True, []),
        ({"addresses": UNKNOWN}, True, []),
        ({"name": UNKNOWN}, True, ["name"]),
    ],
)
def test_diff_classifies(change: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    news, _ = bridge.check(_inputs(**change))
    result = diff(policy=bridge.POLICY, olds=_outputs(), news=news)
    assert result.changes is changes
    assert result.replaces == replaces
    # Replacements make the new object first (taking over a bridge of the same
    # name); only another uplink needs the old one gone first.
    assert result.delete_before_replace is (replaces == ["uplink"])


def test_diff_owner_compares_names_not_token() -> None:
    owner = {"stack": "p/s", "resource": "br"}
    olds = _outputs(owner={**owner, "token": "0123456789ab"})
    news, _ = bridge.check({**_inputs(), "owner": owner})
    assert diff(policy=bridge.POLICY, olds=olds, news=news).changes is False
    # State from before instance ownership has no token: an update moves its marks.
    legacy = diff(policy=bridge.POLICY, olds=_outputs(owner=owner), news=news)
    assert legacy.changes is True and legacy.replaces == []
    renamed = {**owner, "resource": "br2"}
    news2, _ = bridge.check({**_inputs(), "owner": renamed})
    assert diff(policy=bridge.POLICY, olds=olds, news=news2).replaces == []
