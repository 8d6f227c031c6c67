"""Every resource kind through the real CLI: preview, up, no-change up and
refresh, a container's address moved within its subnet, destroy back to the
host as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

import hostnet_lab
from tests.e2e import hoststate
from tests.e2e.conftest import close_stack, open_stack

pytestmark = pytest.mark.e2e


def test_every_kind_lifecycle(pulumi_env: dict[str, str], tmp_path: Path) -> None:
    before = {"h2": hoststate.snapshot("h2")}
    stack = open_stack("every-kind", env=pulumi_env, tmp_path=tmp_path)
    try:
        stack.pulumi("preview")
        assert not hoststate.differences(before, {"h2": hoststate.snapshot("h2")})

        stack.up()
        after_up = hoststate.snapshot("h2")
        assert {"blue", "edge"} <= set(after_up["netns"])
        links = hoststate.links("h2")
        assert links["blue.eth0"]["master"] == "hnfront"
        assert links["edge.eth1"]["master"] == "hnback"
        assert any("--dport 2222" in rule for rule in after_up["iptables"])
        blue_rules = hostnet_lab.host_exec("h2", ["ip", "-n", "blue", "rule", "show"]).stdout
        assert "1010:\tfrom 172.30.1.10 lookup 110 proto 77" in blue_rules

        stack.up("--expect-no-changes")
        stack.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")

        # Renumbered within its subnet: blue keeps its routes through the veth.
        # After the refresh, the preview names only what the program changed.
        stack.config_set("blueAddress", "172.30.1.11")
        preview = stack.pulumi("preview").stdout
        diffs = [line for line in preview.splitlines() if "[diff: " in line]
        assert any("blue-leg" in line and "~peer_addresses" in line for line in diffs), preview
        assert not [line for line in diffs if "owner" in line], preview
        stack.up()
        blue = hostnet_lab.host_exec("h2", ["ip", "-n", "blue", "-4", "addr", "show", "eth0"])
        assert "172.30.1.11/24" in blue.stdout and "172.30.1.10/" not in blue.stdout
        routes = hostnet_lab.host_exec("h2", ["ip", "-n", "blue", "route", "show", "table", "all"])
        assert "default via 172.30.1.1 dev eth0 proto 77" in routes.stdout
        assert "default via 172.30.1.254 dev eth0 table 110 proto 77" in routes.stdout
        stack.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")

        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, {"h2": hoststate.snapshot("h2")})
    finally:
        close_stack(stack)
