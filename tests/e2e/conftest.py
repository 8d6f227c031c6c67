"""Fixtures for e2e tests: the real Pulumi CLI on copies of examples/, in the lab.

These tests run inside the lab's control namespace (``hostnet lab exec``), the
only place lab addresses are reachable from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hostnet_lab import LabInfo

REPO = Path(__file__).resolve().parents[2]


class Stack:
    """One stack of one example program, driven through the pulumi CLI."""

    def __init__(self, *, workdir: Path, name: str, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.name = name
        self.env = env

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = ["pulumi", *args, "--cwd", str(self.workdir), "--non-interactive"]
        if args[0] not in ("stack",) or args[:2] == ("stack", "output"):
            argv += ["--stack", self.name]
        proc = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=900, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {proc.returncode}\n"
                f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-4000:]}"
            )
        return proc

    def up(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.pulumi("up", "--yes", "--skip-preview", *extra)

    def config_set(self, key: str, value: str, *, secret: bool = False) -> None:
        self.pulumi("config", "set", key, value, *(["--secret"] if secret else []))

    def counted(self, path: Path, *args: str) -> list[dict[str, Any]]:
        """Run pulumi with HOSTNET_STATS=path; the provider's counts, a line per host."""
        path.unlink(missing_ok=True)
        Stack(
            workdir=self.workdir, name=self.name, env={**self.env, "HOSTNET_STATS": str(path)}
        ).pulumi(*args)
        # The provider host writes its counts as it ends, which may be just after
        # the CLI has returned: wait for them (an event, not a time a test measures).
        deadline = time.monotonic() + 20
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert path.exists(), "the provider host wrote no counts (HOSTNET_STATS)"
        return [json.loads(line) for line in path.read_text().splitlines()]


def _require(condition: bool, what: str) -> None:
    # A missing prerequisite fails the run; a skip would read as a pass in CI.
    if not condition:
        pytest.fail(f"e2e prerequisite missing: {what}", pytrace=False)


@pytest.fixture(scope="session")
def pulumi_env(lab: LabInfo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Name: pulumi_env / Scope: session / Depends: lab (this process is in hn-ctl),
    the pulumi CLI on PATH (make setup).

    The environment for the CLI: offline, with a backend of its own per session.
    Every pulumi process, and the provider it starts, inherits hn-ctl.
    """
    _require(shutil.which("pulumi") is not None, "pulumi CLI on PATH (make setup)")
    backend = tmp_path_factory.mktemp("pulumi-backend")
    env = dict(os.environ)
    env.update(
        PULUMI_BACKEND_URL=f"file://{backend}",
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_CONFIG_PASSPHRASE="hostnet-lab",  # Pulumi.lab.yaml's salt is for it
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
    )
    env.setdefault("PULUMI_HOME", str(REPO / ".tools" / "pulumi-home"))
    return env


def copy_root_project(dest: Path) -> Path:
    """A copy of the repo's root project (the seed stack) with its lab config."""
    workdir = dest / "seed"
    workdir.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.lab.yaml"):
        shutil.copy(REPO / name, workdir / name)
    shutil.copytree(
        REPO / "examples" / "three-hosts",
        workdir / "examples" / "three-hosts",
        ignore=shutil.ignore_patterns(".venv", "__pycache__"),
    )
    project = workdir / "Pulumi.yaml"
    project.write_text(
        re.sub(r"virtualenv: .*", f"virtualenv: {Path(sys.prefix)}", project.read_text())
    )
    return workdir


def copy_example(name: str, dest: Path) -> Path:
    """A copy of examples/<name> whose virtualenv points at the repo's venv."""
    workdir = dest / name
    shutil.copytree(REPO / "examples" / name, workdir)
    project = workdir / "Pulumi.yaml"
    text = re.sub(r"virtualenv: .*", f"virtualenv: {Path(sys.prefix)}", project.read_text())
    project.write_text(text)
    return workdir


def open_stack(example: str, *, env: dict[str, str], tmp_path: Path) -> Stack:
    workdir = copy_example(example, tmp_path)
    stack = Stack(workdir=workdir, name="lab", env=env)
    stack.pulumi("stack", "init", "lab")
    return stack


def close_stack(stack: Stack) -> None:
    stack.pulumi("destroy", "--yes", "--skip-preview", check=False)
    stack.pulumi("stack", "rm", "--yes", "lab", check=False)
