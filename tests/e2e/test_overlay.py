"""The overlay stack (examples/overlay) through the real CLI: preview touches
nothing; up; `hostnet verify` 0 FAIL, the full-size frames included; no changes
on a second up; `hostnet graph` draws the tunnels; a host detached from the
peers loses the overlay while the others keep it, without replacing a device;
destroy leaves every node as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hostnet import verify
from hostnet_lab import host_exec
from hostnet_lab.nodes import NODES
from tests.e2e import hoststate
from tests.e2e.conftest import Stack, close_stack, open_stack
from tests.e2e.graphfile import run_graph

pytestmark = pytest.mark.e2e

HOSTS = ("h1", "h2", "h3")


def _snapshots() -> dict[str, Any]:
    return {node: hoststate.snapshot(node) for node in NODES}


def _outputs(stack: Stack) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        stack.pulumi("stack", "output", "--json", "--show-secrets").stdout
    )
    return data


def _verified(stack: Stack) -> list[verify.Result]:
    results = verify.run(_outputs(stack))
    assert results and not [r for r in results if r.status == "FAIL"], verify.render(results)
    return results


def _vxlan(host: str) -> tuple[int, int, list[str]]:
    """ifindex, MTU and the flooding peers of vx-overlay, read with ip and bridge."""
    link = json.loads(host_exec(host, ["ip", "-j", "link", "show", "vx-overlay"]).stdout)[0]
    fdb = json.loads(host_exec(host, ["bridge", "-j", "fdb", "show", "dev", "vx-overlay"]).stdout)
    peers = sorted(e["dst"] for e in fdb if e.get("dst") and e["mac"] == "00:00:00:00:00:00")
    return link["ifindex"], link["mtu"], peers


def test_overlay_lifecycle(pulumi_env: dict[str, str], tmp_path: Path) -> None:
    before = _snapshots()
    stack = open_stack("overlay", env=pulumi_env, tmp_path=tmp_path)
    try:
        stack.pulumi("preview")
        assert not hoststate.differences(before, _snapshots())

        stack.up()
        hostnet = str(Path(sys.prefix) / "bin" / "hostnet")
        cli = subprocess.run(
            [hostnet, "verify", "--stack", "lab", "--cwd", str(stack.workdir)],
            env=pulumi_env,
            capture_output=True,
            text=True,
            check=False,
        )
        print(cli.stdout)
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert ", 0 FAIL" in cli.stdout
        results = _verified(stack)
        full = [r for r in results if r.claim.get("size") == 1450 - 28]
        assert len(full) == 6 and all(r.status == "OK" for r in full)
        over = [r for r in results if r.claim.get("size") == 1450 - 27]
        assert len(over) == 6 and all(r.status == "expected-blocked" for r in over)
        devices = {h: _vxlan(h) for h in HOSTS}
        assert {h: d[1:] for h, d in devices.items()} == {
            "h1": (1450, ["10.32.171.203", "10.32.171.204"]),
            "h2": (1450, ["10.32.171.202", "10.32.171.204"]),
            "h3": (1450, ["10.32.171.202", "10.32.171.203"]),
        }

        stack.up("--expect-no-changes")

        # hostnet graph draws the three tunnels, reads only, and finds no drift.
        state = _snapshots()
        drawing = tmp_path / "overlay.mmd"
        proc = run_graph(stack, drawing)
        assert drawing.read_text().count('-.-|"VXLAN 42"|') == 3
        assert "drift" not in proc.stderr
        assert not hoststate.differences(state, _snapshots())

        # h3 leaves everyone's peers: its container loses the overlay, the others
        # keep it, and every vxlan device is updated in place.
        stack.config_set("detached", json.dumps(["h3"]))
        stack.up()
        after = {h: _vxlan(h) for h in HOSTS}
        assert {h: d[0] for h, d in after.items()} == {h: d[0] for h, d in devices.items()}
        assert after["h3"][2] == [] and after["h1"][2] == ["10.32.171.203"]
        results = _verified(stack)
        lost = [r for r in results if r.claim["source"] == "test3.1" and r.claim.get("size")]
        assert len(lost) == 2
        assert lost and all(r.status == "expected-blocked" for r in lost)
        kept = [
            r
            for r in results
            if r.claim["source"] in ("test1.1", "test2.1")
            and r.claim["expect"] == "ok"
            and r.claim["address"] in ("10.42.0.2", "10.42.0.3")
        ]
        assert len(kept) == 4 and all(r.status == "OK" for r in kept)

        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, _snapshots())
    finally:
        close_stack(stack)
