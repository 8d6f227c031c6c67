"""`pulumi up` killed with SIGKILL at three points of a 42-resource stack: no
process of the run outlives it (on the controller or as an agent on a host),
and the recovery the README documents ("When a run is killed") converges.

The kill points are counted in the engine's own events (`--json`), not in
seconds: early is while the first creates run, middle after half of them, late
with a few left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hostnet import transport, verify
from hostnet.payload import INTERPRETER_FLAGS
from hostnet_lab.nodes import HOSTS, read_state
from tests.e2e import events, hoststate
from tests.e2e.conftest import Stack, close_stack, open_stack

pytestmark = pytest.mark.e2e

NODES = ("h1", "h2", "h3")
GRACE = 10.0  # seconds the run's processes may take to go after the kill
# Creates finished (of 42) when the CLI is killed; 0 = while the first ones run.
POINTS = {"early": 0, "middle": 21, "late": 38}
# What the file backend says when a kill left the stack's .attrs sidecar empty.
CORRUPT_SIDECAR = "failed to load checkpoint: EOF"


def _proc(pid: int) -> tuple[int, list[str]] | None:
    """(start time, argv) of a live process; None once gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19]), [a.decode(errors="replace") for a in argv if a]


def _descendants(root: int) -> dict[int, tuple[int, list[str]]]:
    """Every live process under ``root``: pid -> (start time, argv)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        info = _proc(pid)
        if info is not None:
            found[pid] = info
        todo += children.get(pid, [])
    return found


def _agents() -> list[str]:
    """hostnet agents running on the lab hosts (``python3 -S -E -u -c <bootstrap>`` in a
    host's network namespace), as "host: pid"."""
    state = read_state() or {}
    hosts = {state["nodes"][h.name]["net"]: h.name for h in HOSTS}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            net = os.stat(f"/proc/{entry}/ns/net").st_ino
        except OSError:
            continue
        info = _proc(int(entry)) if net in hosts else None
        agent_argv = [*INTERPRETER_FLAGS, "-c"]
        if info is not None and info[1][1:5] == agent_argv and "python" in info[1][0]:
            found.append(f"{hosts[net]}: {entry}")
    return found


def _wait_until(condition: Callable[[], bool], *, limit: float) -> float:
    """Seconds until ``condition`` held; fails after ``limit``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > limit:
            raise AssertionError(f"still not so after {limit:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - start


def _killed_up(stack: Stack, *, after: int) -> tuple[dict[int, tuple[int, list[str]]], list[str]]:
    """Start `pulumi up`, SIGKILL it once ``after`` hostnet creates finished (or,
    with 0, while the first runs and an agent is up); the processes under it
    and the agents on the hosts at that moment."""
    argv = ["pulumi", "up", "--yes", "--skip-preview", "--json", "--non-interactive"]
    cli = subprocess.Popen(
        [*argv, "--cwd", str(stack.workdir), "--stack", stack.name],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert cli.stdout is not None
    started = done = 0
    for line in cli.stdout:
        for event in events.parse(line):
            kind = next((k for k in event if k.startswith("res")), "")
            meta: dict[str, Any] = event[kind]["metadata"] if kind else {}
            if "dynamic/hostnet" in meta.get("type", "") and meta.get("op") == "create":
                started += kind == "resourcePreEvent"
                done += kind == "resOutputsEvent"
        if (started if after == 0 else done) >= max(after, 1) and (after or _agents()):
            break
    else:
        raise AssertionError(f"up ended before the kill point: exit {cli.wait(60)}")
    tree, agents = _descendants(cli.pid), _agents()
    cli.send_signal(signal.SIGKILL)
    cli.wait(30)
    cli.stdout.close()
    return tree, agents


def _remove_empty_sidecars(stack: Stack) -> list[str]:
    """The README's step for a kill that hit the file backend rewriting a blob's
    ``.attrs`` sidecar (which it does in place): delete the empty ones."""
    metadata = Path(stack.env["PULUMI_BACKEND_URL"].removeprefix("file://")) / ".pulumi"
    found = subprocess.run(
        ["find", str(metadata), "-name", "*.attrs", "-size", "0", "-print", "-delete"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(str(Path(path).relative_to(metadata)) for path in found)


def _snapshots() -> dict[str, Any]:
    return {node: hoststate.snapshot(node) for node in NODES}


def _verify(stack: Stack) -> None:
    outputs = json.loads(stack.pulumi("stack", "output", "--json", "--show-secrets").stdout)
    try:
        results = verify.run(outputs)
    finally:
        transport.close_all()
    assert results and not [r for r in results if r.status == "FAIL"], verify.render(results)


@pytest.mark.parametrize("point", list(POINTS))
def test_killed_up_leaves_no_process_and_recovers(
    point: str, pulumi_env: dict[str, str], tmp_path: Path
) -> None:
    transport.close_all()  # this process's own agents would count as leftovers
    before = _snapshots()
    stack = open_stack("small-fleet", env=pulumi_env, tmp_path=tmp_path)
    try:
        tree, agents = _killed_up(stack, after=POINTS[point])
        killed = time.monotonic()
        providers = [pid for pid, (_, argv) in tree.items() if "pulumi.dynamic" in argv]
        assert providers and agents, f"nothing to outlive the kill: {tree} {agents}"

        def run_gone() -> bool:
            return all(_proc(pid) != info for pid, info in tree.items())

        _wait_until(run_gone, limit=GRACE - (time.monotonic() - killed))
        _wait_until(lambda: not _agents(), limit=GRACE - (time.monotonic() - killed))
        print(
            f"{point}: {len(tree)} processes under pulumi and {len(agents)} agents at the kill, "
            f"all gone {time.monotonic() - killed:.1f} s after it"
        )

        # The recovery, exactly as the README gives it.
        locked = stack.pulumi("up", "--yes", "--skip-preview", check=False)
        if CORRUPT_SIDECAR in locked.stderr:
            emptied = _remove_empty_sidecars(stack)
            assert emptied == ["stacks/hostnet-small-fleet/lab.json.attrs"], emptied
            print(f"{point}: the kill emptied {emptied[0]}; removed")
            locked = stack.pulumi("up", "--yes", "--skip-preview", check=False)
        assert locked.returncode != 0 and "pulumi cancel" in locked.stderr, locked.stderr
        stack.pulumi("cancel", "--yes")
        stack.pulumi("refresh", "--yes", "--skip-preview", "--clear-pending-creates")
        up = stack.up()
        assert "pending operations" not in up.stdout + up.stderr, up.stdout[-3000:]
        _verify(stack)
        stack.up("--expect-no-changes")
        stack.pulumi("refresh", "--yes", "--skip-preview")  # bridges' MACs follow their ports
        stack.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")

        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, _snapshots())
    finally:
        stack.pulumi("cancel", "--yes", check=False)  # a failure above may leave the lock
        close_stack(stack)
