"""Team state: the seed stack kept in a real PostgreSQL server through Pulumi's
postgres backend (`pulumi login postgres://...`), as a team or CI would share it;
and two operators' `pulumi up` of the same stack at once: the backend's lock lets
one run and refuses the other with Pulumi's message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hostnet_lab
from hostnet import verify
from tests.e2e import hoststate
from tests.e2e.conftest import Stack, _require, close_stack, copy_root_project
from tests.e2e.postgres import USER, Postgres, loopback_up, new_server, pg_bin

pytestmark = pytest.mark.e2e

NODES = ("h1", "h2", "h3", "test1.1", "test2.1", "test3.1")
LOCKED = "the stack is currently locked by 1 lock(s)"
LOCK_KEYS = "SELECT key FROM pulumi_state WHERE key LIKE '%/locks/%'"


def snapshots() -> dict[str, Any]:
    return {node: hoststate.snapshot(node) for node in NODES}


@pytest.fixture(scope="module")
def postgres(pulumi_env: dict[str, str]) -> Iterator[Postgres]:
    """Name: postgres / Scope: module / Depends: pulumi_env (so: the lab, and this
    process in its control namespace), Debian's postgresql (make setup).

    Starts a cluster on 127.0.0.1 of the control namespace; stops and removes it."""
    _require(pg_bin() is not None, "Debian's postgresql under /usr/lib/postgresql (make setup)")
    try:
        import pwd  # noqa: PLC0415 -- only to name the missing prerequisite

        pwd.getpwnam(USER)
    except KeyError:
        _require(False, f"the {USER} system user (Debian's postgresql package makes it)")
    _require(loopback_up(), "loopback up in the lab's control namespace")
    server = new_server()
    try:
        server.start()
        yield server
    finally:
        server.stop()
    assert not server.home.exists() and not server.running()


@pytest.fixture
def team_env(pulumi_env: dict[str, str], postgres: Postgres) -> dict[str, str]:
    return {**pulumi_env, "PULUMI_BACKEND_URL": postgres.url}


def _outputs(stack: Stack) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        stack.pulumi("stack", "output", "--json", "--show-secrets").stdout
    )
    return data


def _claims_hold(stack: Stack) -> int:
    results = verify.run(_outputs(stack))
    failed = [r for r in results if r.status == "FAIL"]
    assert results and not failed, verify.render(results)
    return len(results)


def test_seed_stack_on_postgres(
    team_env: dict[str, str], postgres: Postgres, tmp_path: Path
) -> None:
    before = snapshots()
    stack = Stack(workdir=copy_root_project(tmp_path), name="lab", env=team_env)
    stack.pulumi("stack", "init", "lab")
    try:
        stack.up()
        keys = postgres.sql("SELECT key FROM pulumi_state ORDER BY key")
        assert any(k.endswith("/lab.json") for k in keys), keys  # the checkpoint is in PostgreSQL
        assert not (stack.workdir / ".pulumi").exists()
        assert _claims_hold(stack) > 50
        stack.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")
        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, snapshots())
    finally:
        close_stack(stack)


def _up_argv(stack: Stack) -> list[str]:
    where = ["--cwd", str(stack.workdir), "--stack", stack.name]
    return ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", *where]


def _wait_for_lock(postgres: Postgres, proc: subprocess.Popen[str]) -> list[str]:
    """Poll the backend's table until the running `up` holds the stack's lock."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        locks = postgres.sql(LOCK_KEYS)
        if locks:
            return locks
        assert proc.poll() is None, "the first `pulumi up` ended before its lock was seen"
        time.sleep(0.1)
    raise AssertionError("no lock in the state database after 300 s")


def test_concurrent_up_one_runs_the_other_is_refused(
    team_env: dict[str, str], postgres: Postgres, tmp_path: Path
) -> None:
    """Operators A (milestones 1 and 2) and B (milestone 1 only) run `pulumi up` of the
    one shared stack at once. A holds the lock, so B is refused; the hosts end as A
    said. A is paused while B tries, so which one wins never depends on speed."""
    before = snapshots()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Stack(workdir=copy_root_project(tmp_path / "a"), name="lab", env=team_env)
    b = Stack(workdir=copy_root_project(tmp_path / "b"), name="lab", env=team_env)
    a.pulumi("stack", "init", "lab")
    b.pulumi("stack", "select", "lab")
    a.config_set("milestones", "[1, 2]")
    b.config_set("milestones", "[1]")
    try:
        first = subprocess.Popen(
            _up_argv(a), env=team_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        _wait_for_lock(postgres, first)
        os.kill(first.pid, signal.SIGSTOP)
        try:
            second = b.pulumi("up", "--yes", "--skip-preview", check=False)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        out, _ = first.communicate(timeout=900)
        assert first.returncode == 0, out[-4000:]
        assert second.returncode != 0 and LOCKED in second.stdout + second.stderr, second
        assert not postgres.sql(LOCK_KEYS), "a lock stayed behind"

        # The hosts are as A declared: milestone 2's NAT is there, every claim holds.
        assert _outputs(a)["milestones"] == [1, 2]
        assert _claims_hold(a) > 0
        nat = hostnet_lab.host_exec("h1", ["iptables", "-t", "nat", "-S", "HOSTNET-POSTROUTING"])
        assert "MASQUERADE" in nat.stdout, nat

        b.up()  # once A is done, B's own up runs: milestone 1 only, the NAT goes
        assert _outputs(b)["milestones"] == [1]
        nat = hostnet_lab.host_exec("h1", ["iptables", "-t", "nat", "-S"])
        assert "MASQUERADE" not in nat.stdout, nat.stdout
        b.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, snapshots())
    finally:
        close_stack(a)
