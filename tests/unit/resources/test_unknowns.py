"""Values Pulumi does not know yet pass through check untouched, in every field of
every kind at any depth, and diff treats them as Pulumi expects: a possible
replace when the field is replace-only, an update otherwise."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.output import Unknown

from hostnet.resources import KINDS, diff
from hostnet.unknown import UNKNOWN, is_unknown
from pulumi_hostnet._provider import HostnetProvider

HOST = {
    "name": "h1",
    "address": "10.32.171.202",
    "port": 22,
    "user": "root",
    "trust_on_first_use": True,
    "sudo": False,
    "python": "python3",
    "connect_timeout": 10.0,
    "request_timeout": 60.0,
    "bastion": {"address": "10.32.171.250", "trust_on_first_use": True, "user": "jump"},
}

# Every input of every kind, set.
FULL: dict[str, dict[str, Any]] = {
    "bridge": {
        "name": "bridge0",
        "addresses": ["192.168.5.1/24", "fd00:5::1/64"],
        "ports": ["ens34"],
        "mtu": 1500,
        "promisc": False,
        "up": True,
        "netns": "blue",
    },
    "veth": {
        "name": "test1.1.eth0",
        "peer_name": "veth0",
        "peer_netns": "container:test1.1",
        "master": "bridge0",
        "addresses": ["192.168.9.1/24"],
        "peer_addresses": ["192.168.5.2/24"],
        "mtu": 1500,
        "promisc": False,
        "up": True,
    },
    "netns_router": {
        "name": "testrt3",
        "interfaces": [
            {"name": "rt.eth0", "inside_name": "veth0", "bridge": "br0", "address": "10.9.0.2/24"},
            {"name": "rt.eth1", "inside_name": "veth1", "bridge": "br1", "address": "10.8.0.2/24"},
        ],
        "routes": [
            {"dst": "10.1.0.0/16", "via": "10.9.0.1"},
            {"dst": "10.2.0.0/16", "dev": "veth1"},
        ],
        "forwarding": True,
    },
    "route": {
        "dst": "192.168.6.0/24",
        "via": "10.32.171.203",
        "dev": "ens32",
        "src": "10.32.171.202",
        "metric": 10,
        "table": 100,
        "onlink": False,
        "netns": "blue",
    },
    "nat_rule": {
        "kind": "dnat",
        "source": "192.168.5.0/24",
        "destination": "10.32.171.202/32",
        "in_interface": "ens32",
        "to": "192.168.5.2:22",
        "protocol": "tcp",
        "dport": 2222,
        "position": 5,
        "name": "ssh-to-c1",
        "netns": "blue",
    },
    "firewall_rule": {
        "chain": "FORWARD",
        "in_interface": "bridge0",
        "out_interface": "!bridge0",
        "source": "192.168.5.0/24",
        "destination": "!10.0.0.0/8",
        "protocol": "tcp",
        "dport": 22,
        "ctstate": ["NEW", "ESTABLISHED"],
        "action": "ACCEPT",
        "position": 3,
        "name": "ssh-out",
        "netns": "blue",
    },
    "nat_rule-snat": {
        "kind": "snat",
        "source": "192.168.5.0/24",
        "out_interface": "ens32",
        "to": "10.32.171.202",
    },
    "bridge-uplink": {"name": "br-ens32", "uplink": "ens32", "ports": ["ens34"]},
    "netns": {"name": "blue"},
    "vxlan": {
        "name": "vx100",
        "vni": 100,
        "local": "10.32.171.202",
        "remotes": ["10.32.171.203", "10.32.171.204"],
        "dstport": 4789,
        "ttl": 16,
        "learning": False,
        "mtu": 1450,
        "master": "bridge2",
        "netns": "blue",
    },
    "routing_rule": {
        "priority": 1000,
        "family": 4,
        "src": "192.168.6.0/24",
        "dst": "10.0.0.0/8",
        "iif": "veth1",
        "oif": "ens32",
        "fwmark": 7,
        "fwmask": 255,
        "tos": 16,
        "action": "table",
        "table": 106,
        "netns": "blue",
    },
    "vxlan-group": {"name": "vx101", "vni": 101, "group": "239.1.1.1", "dev": "ens34"},
    "sysctl": {"key": "net.ipv4.ip_forward", "value": "1", "netns": "blue"},
}


def _kind(case: str) -> Any:
    return KINDS[case.split("-", maxsplit=1)[0]]


def _inputs(case: str) -> dict[str, Any]:
    return {"host": copy.deepcopy(HOST), **copy.deepcopy(FULL[case])}


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place a value sits: each field, each list entry, each nested field."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


def _with(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    value = copy.deepcopy(value)
    target = value
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return value


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


CASES = [(kind, path) for kind in sorted(FULL) for path in _paths(_inputs(kind))]


def test_the_table_covers_every_input_of_every_kind() -> None:
    for kind, module in KINDS.items():
        covered = {k for case in FULL if case.split("-")[0] == kind for k in FULL[case]}
        assert covered | {"host"} == set(module.policy.inputs), kind
    assert len(CASES) > 150


@pytest.mark.parametrize("kind", sorted(FULL))
def test_full_inputs_pass(kind: str) -> None:
    _, failures = _kind(kind).check(_inputs(kind))
    assert failures == []


@pytest.mark.parametrize(("kind", "path"), CASES, ids=str)
def test_unknown_passes_check_untouched(kind: str, path: tuple[Any, ...]) -> None:
    news = _with(_inputs(kind), path, UNKNOWN)
    inputs, failures = _kind(kind).check(news)
    assert failures == [], failures
    assert _at(inputs, path) is UNKNOWN
    assert "UNKNOWN" not in repr(inputs)


@pytest.mark.parametrize(("kind", "path"), CASES, ids=str)
def test_unknown_diffs_as_a_change_that_replaces_only_replace_fields(
    kind: str, path: tuple[Any, ...]
) -> None:
    module = _kind(kind)
    olds, _ = module.check(_inputs(kind))
    outputs = {**olds, "resource_id": module.make_id(olds)}
    news, _ = module.check(_with(_inputs(kind), path, UNKNOWN))
    result = diff(policy=module.policy, olds=outputs, news=news)
    field = path[0]
    assert result.changes is True
    # A host is the same machine while its name and address stay; only they may replace.
    replaces = field in module.policy.replace and (
        field != "host" or path in (("host",), ("host", "name"), ("host", "address"))
    )
    assert (field in result.replaces) is replaces


def _pulumi_unknowns(value: Any) -> Any:
    if value is UNKNOWN:
        return Unknown()  # type: ignore[no-untyped-call]
    if isinstance(value, dict):
        return {k: _pulumi_unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pulumi_unknowns(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("firewall_rule", ("in_interface",)),
        ("sysctl", ("value",)),
        ("route", ("dst",)),
        ("route", ("via",)),
        ("nat_rule", ("source",)),
        ("nat_rule", ("kind",)),
        ("netns_router", ("interfaces", 0, "address")),
        ("netns_router", ("routes", 1)),
        ("veth", ("master",)),
        ("bridge", ("host", "address")),
    ],
)
def test_the_provider_returns_pulumis_unknown_not_text(kind: str, path: tuple[Any, ...]) -> None:
    provider = HostnetProvider(kind.split("-", maxsplit=1)[0])
    news = _pulumi_unknowns(_with(_inputs(kind), path, UNKNOWN))
    result = provider.check({}, news)
    assert result.failures == []
    assert isinstance(_at(result.inputs, path), Unknown)
    assert not is_unknown(result.inputs)  # the engine's own marker never leaves the provider
