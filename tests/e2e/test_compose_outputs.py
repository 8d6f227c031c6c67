"""The "compose outputs" example through the real CLI: outputs of hostnet
resources wired into every kind's inputs are unknown at the first preview, which
passes and shows them as such; up fills them in; a second up changes nothing;
destroy leaves the host as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

import hostnet_lab as lab
from tests.e2e import hoststate
from tests.e2e.conftest import close_stack, open_stack

pytestmark = pytest.mark.e2e


def _in_ns(*argv: str) -> str:
    done = lab.host_exec("h3", ["ip", "netns", "exec", "cmpblue", *argv])
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_compose_outputs(pulumi_env: dict[str, str], tmp_path: Path) -> None:
    before = {"h3": hoststate.snapshot("h3")}
    stack = open_stack("compose-outputs", env=pulumi_env, tmp_path=tmp_path)
    try:
        preview = stack.pulumi("preview", "--diff")
        text = preview.stdout + preview.stderr
        # Wired values wait for up: shown as unknown, never checked as text.
        assert text.count("[unknown]") >= 8, text
        assert "UNKNOWN" not in text and "unknown until applied" not in text
        assert not hoststate.differences(before, {"h3": hoststate.snapshot("h3")})

        stack.up()
        links = hoststate.links("h3")
        assert links["cmp.eth0"]["master"] == "cmpfront"
        assert links["cmpedge.eth0"]["master"] == "cmpfront"
        assert links["cmpedge.eth1"]["master"] == "cmpback"
        routes = lab.host_exec("h3", ["ip", "route", "show", "172.31.8.0/24"]).stdout
        assert "via 172.31.1.254" in routes, routes
        assert "default via 172.31.1.254" in _in_ns("ip", "route", "show")
        assert _in_ns("sysctl", "-n", "net.ipv4.ip_local_port_range").split() == ["41000", "41999"]
        rules = lab.host_exec("h3", ["iptables-save"]).stdout
        assert "-s 172.31.1.0/24 -o ens32" in rules and "-i cmpfront -o cmpback" in rules
        outputs = stack.pulumi("stack", "output", "--json").stdout
        assert '"router_front": "172.31.1.254"' in outputs

        stack.up("--expect-no-changes")
        stack.pulumi("preview", "--expect-no-changes")

        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, {"h3": hoststate.snapshot("h3")})
    finally:
        close_stack(stack)
