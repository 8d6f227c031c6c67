"""A kind has one name: its module, its registry entry, its SDK class (in
CamelCase) and the second segment of the ids it makes. Names a kind had before
still find it, because the state of older stacks carries them."""

from __future__ import annotations

import importlib

import pytest

import pulumi_hostnet as hn
from hostnet import errors
from hostnet.graph.declared import ATTACH
from hostnet.graph.stack import KIND_OF_TYPE
from hostnet.ids import parse_id
from hostnet.resources import KINDS, Registry
from pulumi_hostnet._provider import HostnetProvider, failure_text
from pulumi_hostnet._resource import HostnetResource
from tests.unit.kinds import lifecycle
from tests.unit.kinds.cases import CASES

# The names kinds had before they followed their modules, as stacks keep them.
FORMER = {
    "router": "netns_router",
    "rule": "routing_rule",
    "nat": "nat_rule",
    "firewall": "firewall_rule",
}


@pytest.mark.parametrize("name", list(KINDS))
def test_the_module_the_sdk_class_and_the_id_carry_the_kind_s_name(name: str) -> None:
    kind = KINDS[name]
    module = importlib.import_module(f"hostnet.resources.{name}")
    assert module.KIND is kind and module.NAME == name == kind.name
    sdk_class = getattr(hn, kind.class_name)
    assert issubclass(sdk_class, HostnetResource) and sdk_class.kind_name == name
    assert parse_id(kind.make_id(lifecycle.checked(name, CASES[name].fields))).kind == name


def test_every_sdk_class_is_a_registered_kind() -> None:
    classes = {
        value.__name__
        for value in vars(hn).values()
        if isinstance(value, type) and issubclass(value, HostnetResource)
    } - {"HostnetResource"}
    assert classes == {kind.class_name for kind in KINDS.values()}


def test_the_graph_knows_every_kind_by_its_name() -> None:
    assert set(ATTACH) == set(KINDS)
    assert sorted(KIND_OF_TYPE.values()) == sorted(KINDS)


@pytest.mark.parametrize(("former", "name"), sorted(FORMER.items()))
def test_a_provider_from_an_older_stack_finds_its_kind_by_the_former_name(
    former: str, name: str
) -> None:
    assert former in KINDS and KINDS[former] is KINDS[name]
    assert former not in list(KINDS)  # each kind once when iterating
    assert HostnetProvider(former)._module() is KINDS[name]
    missing = errors.InvalidInput("name", "is required")
    assert failure_text(former, {}, missing) == failure_text(name, {}, missing)
    assert KINDS[name].class_name in failure_text(former, {}, missing)


def test_a_name_is_registered_once() -> None:
    registry = Registry()
    registry.add(KINDS["netns"])
    with pytest.raises(ValueError, match="'netns' registered twice"):
        registry.add(KINDS["netns"])
