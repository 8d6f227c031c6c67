"""`hostnet graph` on the seed stack after milestone 7: every hostnet object of the
stack is drawn as hostnet's, a foreign docker0 as foreign, a hand change on h2 is
marked as drift, and reading the hosts for the picture changes none of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hostnet_lab
from tests.e2e import hoststate
from tests.e2e.conftest import Stack, close_stack, copy_root_project
from tests.e2e.graphfile import dot_classes, holders, parse_svg, run_graph

pytestmark = pytest.mark.e2e

NODES = ("h1", "h2", "h3", "test1.1", "test2.1", "test3.1")
HOSTNET_TYPE = "pulumi-python:dynamic/hostnet:"


def snapshots() -> dict[str, Any]:
    return {node: hoststate.snapshot(node) for node in NODES}


def _sh(host: str, *argv: str) -> None:
    proc = hostnet_lab.host_exec(host, list(argv))
    assert proc.returncode == 0, (argv, proc.stderr)


@pytest.fixture(scope="module")
def seed(pulumi_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The seed stack up to milestone 7, and a bridge docker0 made by someone else on h1."""
    workdir = copy_root_project(tmp_path_factory.mktemp("graph"))
    stack = Stack(workdir=workdir, name="lab", env=pulumi_env)
    stack.pulumi("stack", "init", "lab")
    _sh("h1", "ip", "link", "add", "docker0", "type", "bridge")
    _sh("h1", "ip", "address", "add", "172.17.0.1/16", "dev", "docker0")
    try:
        stack.up()
        yield stack
    finally:
        close_stack(stack)  # the session's backend is shared: the seed tests make "lab" again
        hostnet_lab.host_exec("h1", ["ip", "link", "del", "docker0"])


def _resource_ids(stack: Stack) -> list[str]:
    export = json.loads(stack.pulumi("stack", "export").stdout)
    return sorted(
        r["outputs"]["resource_id"]
        for r in export["deployment"]["resources"]
        if r["type"].startswith(HOSTNET_TYPE)
    )


def test_every_object_drawn_as_hostnets_and_docker0_as_foreign(seed: Stack, tmp_path: Path) -> None:
    before = snapshots()
    svg, dot, mmd = tmp_path / "seed.svg", tmp_path / "seed.dot", tmp_path / "seed.mmd"
    proc = run_graph(seed, svg, dot, mmd)
    assert not hoststate.differences(before, snapshots()), "hostnet graph changed a host"
    assert "differs" not in proc.stderr and "missing" not in proc.stderr, proc.stderr

    drawn = parse_svg(svg)
    rids = _resource_ids(seed)
    assert len(rids) > 50
    for rid in rids:
        found = holders(drawn, rid)
        assert found, f"{rid} is in no element of the picture"
        mine = {"hostnet", "carries-hostnet"}
        assert all(mine & d.classes and "drift" not in d.classes for d in found), (rid, found)
    docker0 = drawn["link:h1::docker0"]
    assert {"node", "foreign"} <= docker0.classes and "hostnet" not in docker0.classes
    assert "docker0" in " ".join(docker0.texts) and "172.17.0.1/16" in docker0.texts
    # Cables and crossings: the containers' veth pairs, h1's uplink bridge on the LAN,
    # and routes leaving a host towards another host's address.
    assert "hostnet" in drawn["veth:link:h2::test2.1.eth0"].classes
    assert "cable:link:h1::ens32:10.32.171.0/24" in drawn
    route = drawn["route:h1::192.168.6.3/32:254:0"]
    assert "192.168.6.3/32" in route.texts and "hostnet" in route.classes
    in_dot = dot_classes(dot)
    assert in_dot["link:h1::docker0"] == "foreign" and in_dot["link:h3::bridge2"] == "hostnet"
    text = mmd.read_text()
    assert text.splitlines()[3] == "flowchart LR" and "docker0" in text


def test_hand_change_on_h2_is_marked_as_drift(seed: Stack, tmp_path: Path) -> None:
    _sh("h2", "ip", "route", "del", "192.168.6.2/32")
    _sh("h2", "ip", "address", "add", "192.168.66.1/24", "dev", "bridge1")
    before = snapshots()
    svg = tmp_path / "drift.svg"
    proc = run_graph(seed, svg)
    assert not hoststate.differences(before, snapshots()), "hostnet graph changed a host"

    drawn = parse_svg(svg)
    bridge = drawn["link:h2::bridge1"]
    assert {"hostnet", "drift"} <= bridge.classes
    assert "h2/bridge/bridge1 (h2-bridge1): differs from the stack in addresses" in bridge.tooltip
    gone = drawn["route:h2::192.168.6.2/32:254:0"]
    assert {"drift", "missing"} <= gone.classes
    assert "missing on the host" in gone.tooltip
    assert "drift" not in drawn["link:h1::bridge1"].classes
    assert "drift" not in drawn["route:h1::192.168.6.3/32:254:0"].classes
    assert "h2/route/192.168.6.2/32" in proc.stderr and "h2/bridge/bridge1" in proc.stderr
    # The CI drift alarm of the README: a preview that refreshes, and changes nothing.
    alarm = seed.pulumi("preview", "--refresh", "--expect-no-changes", check=False)
    assert alarm.returncode != 0, alarm.stdout[-3000:]
    assert not hoststate.differences(before, snapshots())

    seed.up("--refresh")  # put h2 back, as the stack says
    proc = run_graph(seed, svg)
    assert not [d.id for d in parse_svg(svg).values() if "drift" in d.classes], proc.stderr
