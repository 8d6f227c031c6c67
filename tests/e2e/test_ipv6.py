"""IPv6 through the real CLI: addresses on a bridge and in a container, routes via
IPv6 gateways on the host and in the container, traffic between them, no change
on a second up or a refresh, and destroy back to the host and container as they were."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import hostnet_lab as lab
from tests.e2e import hoststate
from tests.e2e.conftest import close_stack, open_stack

pytestmark = pytest.mark.e2e


def _container(*argv: str) -> str:
    done = lab.host_exec("h1", ["ip", "netns", "exec", "test1.1", *argv])
    assert done.returncode == 0, done.stderr
    return done.stdout


def _pings(address: str) -> bool:
    # Duplicate address detection holds a new IPv6 address back for a moment.
    for _ in range(20):
        if lab.host_exec("h1", ["ping", "-6", "-c", "1", "-W", "1", address]).returncode == 0:
            return True
        time.sleep(0.5)
    return False


def test_ipv6_addresses_and_routes_with_gateways(
    pulumi_env: dict[str, str], tmp_path: Path
) -> None:
    before = {"h1": hoststate.snapshot("h1")}
    before_container = _container("ip", "-6", "route", "show")
    stack = open_stack("ipv6", env=pulumi_env, tmp_path=tmp_path)
    try:
        stack.pulumi("preview")
        stack.up()
        host_routes = lab.host_exec("h1", ["ip", "-6", "route", "show", "fd00:6:8::/64"]).stdout
        assert "via fd00:6:1::2 dev v6br0 proto 77" in host_routes, host_routes
        routes = _container("ip", "-6", "route", "show")
        assert "fd00:6:9::/64 via fd00:6:1::1 dev v6eth0 proto 77" in routes, routes
        assert "default via fd00:6:1::1 dev v6eth0 proto 77" in routes, routes
        assert "fd00:6:1::2/64" in _container("ip", "-6", "addr", "show", "v6eth0")
        assert _pings("fd00:6:1::2")

        stack.up("--expect-no-changes")
        stack.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")

        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, {"h1": hoststate.snapshot("h1")})
        assert _container("ip", "-6", "route", "show") == before_container
    finally:
        close_stack(stack)
