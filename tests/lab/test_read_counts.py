"""A refresh reads a host per namespace, not per resource: the provider answers
every resource's read from one snapshot per namespace and part, so a refresh of
the every-kind stack (14 resources on h2, four namespaces) makes at most two
agent round trips per namespace, over one SSH connection. Counted by the agent
client (HOSTNET_STATS), never timed. Reads from snapshots still see a hand
change: a route and a NAT rule removed by hand read as gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hostnet_lab
from tests.e2e.conftest import Stack, close_stack, open_stack

pytestmark = pytest.mark.lab

H2 = "10.32.171.203"
RESOURCES = 14


@pytest.fixture
def stack(pulumi_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    opened = open_stack("every-kind", env=pulumi_env, tmp_path=tmp_path)
    try:
        opened.up()
        yield opened
    finally:
        close_stack(opened)


def _counted(stack: Stack, path: Path, *args: str) -> dict[str, Any]:
    """Run pulumi with HOSTNET_STATS; the provider's counts for h2."""
    lines = stack.counted(path, *args)
    mine = [line for line in lines if line["host"] == H2]
    assert len(mine) == 1, lines  # one provider process talked to h2
    return dict(mine[0])


def _check_per_namespace(counts: dict[str, Any]) -> None:
    assert counts["writes"] == 0, counts
    assert counts["ssh_connections"] == 1, counts
    assert counts["agent_starts"] == 1, counts
    over = {ns: c for ns, c in counts["by_netns"].items() if c["round_trips"] > 2}
    assert not over, f"more than 2 round trips in a namespace: {counts}"
    # The host's own namespace, blue (a Netns) and edge (the router's).
    assert {"", "blue", "edge"} <= set(counts["by_netns"]), counts


def _resource_names(stack: Stack) -> set[str]:
    state = json.loads(stack.pulumi("stack", "export").stdout)
    return {r["urn"].rsplit("::", 1)[1] for r in state["deployment"].get("resources", [])}


def test_refresh_reads_each_namespace_at_most_twice(stack: Stack, tmp_path: Path) -> None:
    counts = _counted(
        stack, tmp_path / "stats.jsonl", "refresh", "--yes", "--skip-preview", "--expect-no-changes"
    )
    _check_per_namespace(counts)
    assert counts["served"] >= RESOURCES, counts
    assert counts["round_trips"] <= 2 * len(counts["by_netns"]), counts


def test_refresh_from_snapshots_still_finds_hand_changes(stack: Stack, tmp_path: Path) -> None:
    gone = hostnet_lab.host_exec(
        "h2", ["ip", "-n", "blue", "route", "del", "default", "table", "110"]
    )
    assert gone.returncode == 0, gone.stderr
    nat = hostnet_lab.host_exec("h2", ["iptables-save", "-t", "nat"]).stdout
    masquerade = [line for line in nat.splitlines() if "MASQUERADE" in line and "hostnet:" in line]
    assert len(masquerade) == 1, nat
    deleted = hostnet_lab.host_exec(
        "h2", ["sh", "-c", f"iptables -t nat {masquerade[0].replace('-A ', '-D ', 1)}"]
    )
    assert deleted.returncode == 0, deleted.stderr

    counts = _counted(stack, tmp_path / "stats.jsonl", "refresh", "--yes", "--skip-preview")
    _check_per_namespace(counts)
    names = _resource_names(stack)
    assert "blue-table-110" not in names
    assert "masquerade" not in names
    assert {"blue-default", "ssh-to-blue", "from-front", "edge"} <= names

    # The next up puts both back; its reads after its first change go to the host.
    counts = _counted(stack, tmp_path / "stats.jsonl", "up", "--yes", "--skip-preview")
    assert counts["writes"] >= 2, counts
    again = _counted(
        stack, tmp_path / "stats.jsonl", "refresh", "--yes", "--skip-preview", "--expect-no-changes"
    )
    _check_per_namespace(again)
