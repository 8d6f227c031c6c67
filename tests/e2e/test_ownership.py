"""What an operator does in the first hour never loses a live object: renames,
``--replace``, rule positions, a second stack, a jump removed by hand, and a stack
made before instance ownership (real CLI, lab host h3)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hostnet_lab as lab
from hostnet import verify
from tests.e2e import hoststate
from tests.e2e.conftest import REPO, Stack

PROGRAMS = Path(__file__).parent / "programs"
# The last commit whose marks were the object's id: stacks made with it must
# keep working and move to instance marks.
BEFORE_INSTANCE_OWNERSHIP = "bdc0c02"
OBJECTS = ("bridge0", "hnbox.eth0", "hnedge.eth0")


def _stack(program: str, tmp_path: Path, env: dict[str, str]) -> Stack:
    workdir = tmp_path / program
    subprocess.run(["cp", "-r", str(PROGRAMS / program), str(workdir)], check=True)
    project = workdir / "Pulumi.yaml"
    project.write_text(
        re.sub(r"virtualenv: .*", f"virtualenv: {Path(sys.prefix)}", project.read_text())
    )
    stack = Stack(workdir=workdir, name="lab", env=env)
    stack.pulumi("stack", "init", "lab")
    return stack


def _remove(stack: Stack) -> None:
    stack.pulumi("destroy", "--yes", "--skip-preview", check=False)
    stack.pulumi("stack", "rm", "--yes", "lab", check=False)


def _summary(output: str) -> dict[str, int]:
    """What `pulumi up`/`refresh` did, from its Resources: block ("+ 9 created")."""
    block = output.split("Resources:", 1)[-1]
    found = re.finditer(r"^\s+[-+~]+\s*(\d+) (\w+)", block, re.M)
    return {m[2]: int(m[1]) for m in found}


def _outputs(stack: Stack) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stack.pulumi("stack", "output", "--json").stdout)
    return data


def _verified(stack: Stack) -> None:
    """Every claim holds, and every object is on the host, marked by this stack."""
    results = verify.run(_outputs(stack))
    assert results and all(r.status == "OK" for r in results), verify.render(results)
    links = hoststate.links("h3")
    for name in OBJECTS:
        assert name in links, f"{name} is gone from h3"
        assert links[name].get("ifalias", "").startswith("hostnet:hostnet-ownership/lab/")
    rules = _iptables("-S")
    assert "-A POSTROUTING -j HOSTNET-POSTROUTING" in rules
    assert "-A FORWARD -j HOSTNET-FORWARD" in rules
    assert sum("hostnet:hostnet-ownership/lab/" in line for line in rules) == 2, rules
    assert lab.host_exec("h3", ["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"


def _on_h3(*argv: str) -> None:
    done = lab.host_exec("h3", list(argv))
    assert done.returncode == 0, done.stderr


def _iptables(*args: str) -> list[str]:
    lines: list[str] = []
    for table in ("filter", "nat"):
        lines += lab.host_exec("h3", ["iptables", "-t", table, *args]).stdout.splitlines()
    return lines


def _urns(stack: Stack) -> list[str]:
    state = json.loads(stack.pulumi("stack", "export").stdout)
    return [
        r["urn"] for r in state["deployment"]["resources"] if "hostnet:" in r["type"].split("/")[-1]
    ]


@contextlib.contextmanager
def stack_on_h3(program: str, tmp_path: Path, env: dict[str, str]) -> Iterator[Stack]:
    """A stack of one of programs/, destroyed and removed after; h3 as it was before."""
    before = hoststate.snapshot("h3")
    stack = _stack(program, tmp_path, env)
    yield stack
    _remove(stack)
    assert not hoststate.differences({"h3": before}, {"h3": hoststate.snapshot("h3")})


@pytest.fixture
def owned(pulumi_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    with stack_on_h3("ownership", tmp_path, pulumi_env) as stack:
        yield stack


def test_renames_replacements_and_positions_keep_every_object(owned: Stack) -> None:
    owned.up()
    _verified(owned)
    count = len(_urns(owned))
    assert count == 9

    # Every resource renamed at once: Pulumi creates the new ones, then deletes the old.
    owned.config_set("suffix", ".renamed")
    done = owned.up()
    assert _summary(done.stdout) == {"created": count, "deleted": count}, done.stdout
    assert "left on the host" in done.stdout + done.stderr
    _verified(owned)
    assert hoststate.links("h3")["bridge0"]["ifalias"].startswith(
        "hostnet:hostnet-ownership/lab/bridge0.renamed#"
    )
    owned.up("--expect-no-changes")

    # Both rules move: a replacement each.
    owned.config_set("position", "20")
    done = owned.up()
    assert _summary(done.stdout) == {"replaced": 2}, done.stdout
    _verified(owned)
    assert sum(" prio=20" in line for line in _iptables("-S")) == 2

    # `--replace` of every resource, every kind.
    replace = [arg for urn in _urns(owned) for arg in ("--replace", urn)]
    done = owned.up(*replace)
    assert _summary(done.stdout) == {"replaced": count}, done.stdout
    _verified(owned)
    owned.pulumi("refresh", "--yes", "--expect-no-changes")
    owned.up("--expect-no-changes")


def test_a_removed_jump_is_drift_that_up_repairs(owned: Stack) -> None:
    owned.up()
    for table, parent in (("nat", "POSTROUTING"), ("filter", "FORWARD")):
        chain = f"HOSTNET-{parent}"
        _on_h3("iptables", "-t", table, "-D", parent, "-j", chain)
    # A jump behind a REJECT that takes everything reaches nothing either.
    _on_h3("iptables", "-I", "FORWARD", "1", "-j", "REJECT")
    try:
        _on_h3("iptables", "-A", "FORWARD", "-j", "HOSTNET-FORWARD")
        refreshed = owned.pulumi("refresh", "--yes", "--expect-no-changes", check=False)
        assert refreshed.returncode != 0
        assert _summary(refreshed.stdout).get("deleted") == 2, refreshed.stdout
        done = owned.up()
        assert _summary(done.stdout).get("created") == 2, done.stdout
        forward = [
            line.split(" --")[0]
            for line in lab.host_exec("h3", ["iptables", "-S", "FORWARD"]).stdout.splitlines()
        ]
        assert forward.index("-A FORWARD -j HOSTNET-FORWARD") < forward.index(
            "-A FORWARD -j REJECT"
        )
    finally:
        _on_h3("iptables", "-D", "FORWARD", "-j", "REJECT")
    _verified(owned)
    owned.pulumi("refresh", "--yes", "--expect-no-changes")


def test_another_stack_is_refused_unless_it_adopts(
    owned: Stack, pulumi_env: dict[str, str], tmp_path: Path
) -> None:
    owned.up()
    mine = hoststate.snapshot("h3")
    intruder = _stack("intruder", tmp_path, pulumi_env)
    try:
        refused = intruder.pulumi("up", "--yes", "--skip-preview", check=False)
        assert refused.returncode != 0
        text = refused.stdout + refused.stderr
        assert "belongs to stack 'hostnet-ownership/lab', resource 'bridge0'" in text, text
        assert "belongs to stack 'hostnet-ownership/lab', resource 'forwarding'" in text, text
        assert "adopt=True" in text
        assert not hoststate.differences({"h3": mine}, {"h3": hoststate.snapshot("h3")})
        owned.pulumi("refresh", "--yes", "--expect-no-changes")
        _verified(owned)

        # Adopted on purpose: the intruder owns them now; the first stack's refresh
        # drops them from its state and its destroy would leave them.
        intruder.config_set("adopt", "true")
        intruder.up()
        mark = hoststate.links("h3")["bridge0"]["ifalias"]
        assert mark.startswith("hostnet:hostnet-intruder/lab/my-bridge0#")
        refreshed = owned.pulumi("refresh", "--yes")
        assert _summary(refreshed.stdout).get("deleted") == 2, refreshed.stdout
        # The intruder's destroy removes the bridge, and puts back the value
        # ip_forward had before the first stack ever wrote it.
        intruder.pulumi("destroy", "--yes", "--skip-preview")
        assert "bridge0" not in hoststate.links("h3")
        # The first stack's ports left with the bridge: a refreshing up puts all back.
        owned.up("--refresh")
        _verified(owned)
    finally:
        _remove(intruder)


def test_a_stack_made_before_instance_ownership_moves_to_instance_marks(
    owned: Stack, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BEFORE_INSTANCE_OWNERSHIP, "provider", "sdk"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    # The program and the provider host both import the old hostnet first.
    old_env = {
        **owned.env,
        "PYTHONPATH": os.pathsep.join(str(old / p) for p in ("provider", "sdk/python")),
    }
    Stack(workdir=owned.workdir, name=owned.name, env=old_env).up()
    links = hoststate.links("h3")
    assert links["bridge0"]["ifalias"] == "hostnet:h3/bridge/bridge0"

    # Today's hostnet reads that state as it is, then one update moves the marks.
    owned.pulumi("refresh", "--yes", "--expect-no-changes")
    done = owned.up()
    assert set(_summary(done.stdout)) == {"updated"}, done.stdout
    _verified(owned)
    owned.up("--expect-no-changes")
