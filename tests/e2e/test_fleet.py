"""examples/fleet at C = 5 through the real CLI: up, the sample of claims probed on
the hosts, a no-op up and a refresh that find nothing to change, and destroy
leaving the hosts and every container namespace as they were."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

import hostnet_lab
from hostnet import transport, verify
from hostnet_lab import LabInfo
from tests.e2e import hoststate
from tests.e2e.conftest import Stack, close_stack, open_stack

pytestmark = pytest.mark.e2e

HOSTS = ("h1", "h2", "h3")
CONTAINERS = 5
PER_HOST, PER_CONTAINER = 12, 7  # examples/fleet's docstring


def _namespace_view(host: str, netns: str) -> dict[str, Any]:
    """Addresses, routes of every table and policy rules inside one container."""

    def ip(*args: str) -> list[str]:
        proc = hostnet_lab.host_exec(host, ["ip", "-n", netns, *args])
        assert proc.returncode == 0, f"{host} {netns}: {proc.stderr}"
        return sorted(line.strip() for line in proc.stdout.splitlines() if line.strip())

    return {
        "links": ip("-o", "link", "show"),
        "addresses": ip("-o", "-4", "addr", "show"),
        "routes": ip("-4", "route", "show", "table", "all"),
        "rules": ip("-4", "rule", "show"),
    }


def _containers() -> list[tuple[str, str]]:
    return [(h, f"test{k}.{i}") for k, h in enumerate(HOSTS, 1) for i in range(1, CONTAINERS + 1)]


def _snapshots() -> dict[str, Any]:
    views: dict[str, Any] = {host: hoststate.snapshot(host) for host in HOSTS}
    views.update({f"{host}/{ns}": _namespace_view(host, ns) for host, ns in _containers()})
    return views


def _settled_snapshots() -> dict[str, Any]:
    """The hosts as a lab just built leaves them, once its links stop changing (a
    NIC's carrier comes up a moment after `lab up` returns): two snapshots a second
    apart that agree."""
    deadline = time.monotonic() + 30
    last = _snapshots()
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _snapshots()
        if now == last:
            return now
        last = now
    changes = hoststate.differences(last, _snapshots())
    raise AssertionError(f"the lab's hosts kept changing: {changes}")


def _created(output: str) -> int:
    found = re.search(r"^\s+\+ (\d+) created", output.split("Resources:", 1)[-1], re.M)
    assert found, output[-3000:]
    return int(found[1])


def test_fleet_up_verify_refresh_destroy(
    lab: LabInfo, pulumi_env: dict[str, str], tmp_path: Path
) -> None:
    transport.close_all()  # a rebuilt lab has new sshds and host keys
    hostnet_lab.up(containers=CONTAINERS)
    before = _settled_snapshots()
    stack: Stack = open_stack("fleet", env=pulumi_env, tmp_path=tmp_path)
    try:
        stack.config_set("containers", str(CONTAINERS))
        up = stack.up()
        # The engine counts the stack itself too.
        expected = len(HOSTS) * (PER_HOST + CONTAINERS * PER_CONTAINER)
        assert _created(up.stdout) == expected + 1, up.stdout[-3000:]

        outputs = json.loads(stack.pulumi("stack", "output", "--json", "--show-secrets").stdout)
        try:
            results = verify.run(outputs)
        finally:
            transport.close_all()
        assert len(results) == len(outputs["hostnet:claims"]["claims"]) == len(HOSTS) * 2 * 12
        failed = [r for r in results if r.status == "FAIL"]
        assert not failed, verify.render(results)
        assert {r.status for r in results} == {"OK", "expected-blocked"}, verify.render(results)

        stack.up("--expect-no-changes")
        stack.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")
        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, _snapshots())
    finally:
        close_stack(stack)
