"""RoutingRule through the real CLI on lab host h3: up, nothing to do, drift
repaired, a rename and a new priority that never lose the rule, --replace, and
destroy back to the host as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import hostnet_lab as lab
from tests.e2e.conftest import Stack
from tests.e2e.test_ownership import _summary, _urns, stack_on_h3

pytestmark = pytest.mark.e2e


def _rules() -> list[str]:
    shown = lab.host_exec("h3", ["ip", "rule", "show"]).stdout.splitlines()
    return [line for line in shown if "198.18.41.0/24" in line]


def _table() -> list[str]:
    return lab.host_exec("h3", ["ip", "route", "show", "table", "141"]).stdout.splitlines()


@pytest.fixture
def policy(pulumi_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    with stack_on_h3("policy", tmp_path, pulumi_env) as stack:
        yield stack


def test_a_rule_lives_through_renames_replacements_and_drift(policy: Stack) -> None:
    policy.up()
    assert _rules() == ["1041:\tfrom 198.18.41.0/24 lookup 141 proto 77"]
    assert _table() == ["default via 10.32.171.1 dev ens32 proto 77 "]
    policy.up("--expect-no-changes")
    policy.pulumi("refresh", "--yes", "--expect-no-changes")

    lab.host_exec("h3", ["ip", "rule", "del", "priority", "1041"])
    refreshed = policy.pulumi("refresh", "--yes").stdout
    assert _summary(refreshed).get("deleted") == 1, refreshed
    assert _summary(policy.up().stdout) == {"created": 1}
    assert _rules() == ["1041:\tfrom 198.18.41.0/24 lookup 141 proto 77"]

    policy.config_set("suffix", ".renamed")
    done = policy.up()
    assert _summary(done.stdout) == {"created": 2, "deleted": 2}, done.stdout
    assert _rules() == ["1041:\tfrom 198.18.41.0/24 lookup 141 proto 77"]
    assert len(_table()) == 1

    policy.config_set("priority", "1042")
    done = policy.up()
    assert _summary(done.stdout) == {"replaced": 1}, done.stdout
    assert _rules() == ["1042:\tfrom 198.18.41.0/24 lookup 141 proto 77"]

    replace = [arg for urn in _urns(policy) for arg in ("--replace", urn)]
    done = policy.up(*replace)
    assert _summary(done.stdout) == {"replaced": 2}, done.stdout
    assert _rules() == ["1042:\tfrom 198.18.41.0/24 lookup 141 proto 77"]
    assert len(_table()) == 1
    policy.pulumi("refresh", "--yes", "--expect-no-changes")
    policy.pulumi("destroy", "--yes", "--skip-preview")
    assert _rules() == [] and _table() == []
