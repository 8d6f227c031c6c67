"""Changes that may cut the management path, through the real CLI on lab host h3:
a wrong one is reverted by the host itself and the run fails saying so; a right one
is confirmed over a new SSH connection and stays; a controller killed while a
guard is armed leaves a host that reverts by the deadline, and the next runs
report it and converge. The lab's path to h3: hn-ctl 10.32.171.250 -> ens32."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hostnet_lab as lab
from tests.e2e import hoststate
from tests.e2e.conftest import Stack

PROGRAM = Path(__file__).parent / "programs" / "guard"
TIMEOUT = 15  # the Host's guard_timeout in these tests
GUARDS = "/run/hostnet/guards"
REVERTED = "so the host reverted it"


@pytest.fixture(scope="module")
def stack(pulumi_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("guard") / "guard"
    subprocess.run(["cp", "-r", str(PROGRAM), str(workdir)], check=True)
    project = workdir / "Pulumi.yaml"
    project.write_text(
        re.sub(r"virtualenv: .*", f"virtualenv: {Path(sys.prefix)}", project.read_text())
    )
    run = Stack(workdir=workdir, name="lab", env=pulumi_env)
    run.pulumi("stack", "init", "lab")
    run.config_set("guard_timeout", str(TIMEOUT))
    _case(run, "none")
    run.up()
    yield run
    _case(run, "none")
    run.pulumi("destroy", "--yes", "--skip-preview", check=False)
    run.pulumi("stack", "rm", "--yes", "lab", check=False)


def _case(stack: Stack, case: str) -> None:
    stack.config_set("case", case)


def _answers_ssh() -> bool:
    # This process is in hn-ctl (the lab fixture): the controller's own path.
    try:
        probe = subprocess.run(
            ["ssh", "-F", "/run/hostnet-lab/ssh_config", "-o", "ConnectTimeout=3",
             "root@10.32.171.204", "true"],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def _h3() -> str:
    """What h3 shows, for failure messages."""
    argv = ["sh", "-c", f"ip -o link; ip -o addr; ip route; ls -la {GUARDS}; ps -eo pid,args"]
    return lab.host_exec("h3", argv).stdout


def _guards_left() -> list[str]:
    files = lab.host_exec("h3", ["sh", "-c", f"ls -A {GUARDS} 2>/dev/null"]).stdout.split()
    procs = [
        line
        for line in lab.host_exec("h3", ["ps", "-eo", "args"]).stdout.splitlines()
        if f"{GUARDS}/h3" in line
    ]
    return files + procs


def _no_guard_left() -> None:
    # A disarmed guard's process notices its file gone at its next poll (0.5 s).
    for _ in range(40):
        if not _guards_left():
            return
        time.sleep(0.25)
    raise AssertionError(f"guard left on h3: {_guards_left()}")


def _fails_reverted(stack: Stack, case: str) -> str:
    before = hoststate.snapshot("h3")
    _case(stack, case)
    started = time.monotonic()
    proc = stack.pulumi("up", "--yes", "--skip-preview", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert REVERTED in output, output[-3000:]
    assert "may cut the management path of h3 (10.32.171.204" in output, output[-3000:]
    assert time.monotonic() - started < TIMEOUT + 30 + 60, "the run outlived its guard"
    assert _answers_ssh(), _h3()
    assert not hoststate.differences(before, hoststate.snapshot("h3"))
    _no_guard_left()
    return output


def _confirmed(stack: Stack, case: str) -> str:
    _case(stack, case)
    output = stack.up().stdout
    assert REVERTED not in output
    assert _answers_ssh(), _h3()
    _no_guard_left()
    return output


@pytest.mark.parametrize(
    ("wrong", "right"),
    [("enslave-wrong", "uplink"), ("route-wrong", "route-right"), ("drop-ssh", "drop-other")],
)
def test_a_cutting_change_is_reverted_and_a_right_one_stays(
    stack: Stack, wrong: str, right: str
) -> None:
    baseline = hoststate.snapshot("h3")
    output = _fails_reverted(stack, wrong)
    print(next(line for line in output.splitlines() if REVERTED in line))
    _confirmed(stack, right)
    stack.up("--expect-no-changes")
    after = hoststate.snapshot("h3")
    assert hoststate.differences(baseline, after), "the right change did not stay"
    assert _answers_ssh(), _h3()
    _case(stack, "none")
    stack.up()
    assert not hoststate.differences(baseline, hoststate.snapshot("h3"))


def _logins(stack: Stack, case: str, path: Path) -> int:
    """SSH connections the provider opened to h3 for an `up` of ``case``."""
    _case(stack, case)
    lines = stack.counted(path, "up", "--yes", "--skip-preview")
    return sum(int(line["ssh_connections"]) for line in lines if line["host"] == "10.32.171.204")


def test_a_bridge_on_a_nic_the_path_does_not_ride_on_needs_no_guard(
    stack: Stack, tmp_path: Path
) -> None:
    """The host names the links its SSH path uses (ens32 here): a bridge taking
    ens34 needs no guard and so no new login; one taking ens32 still has both."""
    baseline = hoststate.snapshot("h3")
    assert _logins(stack, "other-nic", tmp_path / "stats") == 1
    assert "br-ens34" in hoststate.links("h3")
    _no_guard_left()
    assert _logins(stack, "uplink", tmp_path / "stats") == 2  # the guard's new login
    assert _answers_ssh(), _h3()
    _case(stack, "none")
    stack.up()
    assert not hoststate.differences(baseline, hoststate.snapshot("h3"))


def test_the_management_bridge_set_down_is_reverted(stack: Stack) -> None:
    baseline = hoststate.snapshot("h3")
    _confirmed(stack, "uplink")
    links = hoststate.links("h3")
    assert links["ens32"].get("master") == "br-ens32"
    _fails_reverted(stack, "uplink-down")
    _confirmed(stack, "uplink")
    stack.up("--expect-no-changes")
    _case(stack, "none")
    stack.up()
    assert not hoststate.differences(baseline, hoststate.snapshot("h3"))


def test_a_killed_controller_leaves_a_host_that_reverts_and_runs_that_converge(
    stack: Stack,
) -> None:
    baseline = hoststate.snapshot("h3")
    _case(stack, "uplink")
    env = {**stack.env, "HOSTNET_GUARD_PAUSE": str(TIMEOUT * 4)}
    argv = ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive",
            "--cwd", str(stack.workdir), "--stack", stack.name]  # fmt: skip
    run = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(240):
            links = hoststate.links("h3")
            if links.get("ens32", {}).get("master") == "br-ens32":
                break  # applied, guard armed, confirmation not yet sent
            time.sleep(0.25)
        else:
            raise AssertionError("the takeover never happened")
        assert [f for f in _guards_left() if f.endswith(".json")], _guards_left()
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    killed = time.monotonic()
    while not [f for f in _guards_left() if f.endswith(".reverted.json")]:
        assert time.monotonic() - killed < TIMEOUT + 30, "the host did not revert"
        time.sleep(0.5)
    assert _answers_ssh()
    assert not hoststate.differences(baseline, hoststate.snapshot("h3"))
    # What a killed CLI leaves in its own state: the stack's lock and a pending create.
    stack.pulumi("cancel", "--yes")
    refreshed = stack.pulumi("refresh", "--yes", "--skip-preview", "--clear-pending-creates")
    report = refreshed.stdout + refreshed.stderr
    assert "found on the host: reverted" in report, report[-3000:]
    assert "br-ens32 removed" in report, report[-3000:]
    _confirmed(stack, "uplink")
    stack.up("--expect-no-changes")
    _case(stack, "none")
    stack.up()
    assert not hoststate.differences(baseline, hoststate.snapshot("h3"))
