"""Pulumi stacks for the stack benchmarks: a project driven through the CLI in a
temporary file backend, and the engine floor (bench/noop) with a stack's graph."""

from __future__ import annotations

import compileall
import json
import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOOP = Path(__file__).resolve().parent / "noop"
DYNAMIC = "pulumi-python:dynamic"


class BenchError(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class Stack:
    """One stack of one project, driven through the pulumi CLI."""

    workdir: Path
    name: str
    env: dict[str, str]

    def pulumi(self, *args: str) -> str:
        argv = ["pulumi", *args, "--cwd", str(self.workdir), "--non-interactive"]
        if args[0] != "stack" or args[:2] == ("stack", "export"):
            argv += ["--stack", self.name]
        proc = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=900, check=False
        )
        if proc.returncode != 0:
            raise BenchError(
                f"pulumi {' '.join(args)} in {self.workdir} exited {proc.returncode}\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
            )
        return proc.stdout

    def timed(self, *args: str) -> Timing:
        """One pulumi command: wall time, and the CPU time of the CLI and of every
        process reaped under it, which a busy machine disturbs much less than the
        wall time: the language host, the program and the provider host (a shell
        starts it; it ends before its shell, which reaps it, and pulumi reaps the
        shell: watched in /proc). Not the agents on the hosts."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        self.pulumi(*args)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return Timing(wall=wall, cpu=cpu)


@dataclass(frozen=True, kw_only=True)
class Timing:
    wall: float
    cpu: float


def compile_hostnet() -> None:
    """hostnet's modules as an installed wheel has them: compiled to bytecode. The
    venv's other packages (pulumi, grpc, paramiko) are compiled at install, but an
    editable checkout run with PYTHONDONTWRITEBYTECODE=1 (as on CI) would compile
    hostnet's sources again in every process and charge that to the provider's share."""
    for tree in ("provider", "sdk/python"):
        compileall.compile_dir(REPO / tree, quiet=1)


def pulumi_env(backend: Path) -> dict[str, str]:
    env = dict(os.environ, PULUMI_BACKEND_URL=f"file://{backend}")
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    env.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    if "PULUMI_CONFIG_PASSPHRASE" not in env and "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
        env["PULUMI_CONFIG_PASSPHRASE"] = "hostnet-lab"
    return env


def project_copy(src: Path, dest: Path) -> Path:
    """A copy of the project in src whose virtualenv is the checkout's, by absolute path."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    project = dest / "Pulumi.yaml"
    venv = REPO / ".venv"
    project.write_text(re.sub(r"virtualenv: .*", f"virtualenv: {venv}", project.read_text()))
    return dest


def noop_project(dest: Path) -> Path:
    """A copy of bench/noop: the floor, given a graph by its config ``shapeFile``."""
    return project_copy(NOOP, dest)


def shape_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    """A stack's dynamic resources in state order (dependency order), each with the
    names it depends on and its inputs."""
    resources = [r for r in state["deployment"]["resources"] if r["type"].startswith(DYNAMIC)]
    names = {r["urn"]: r["urn"].rsplit("::", 1)[1] for r in resources}
    return [
        {
            "name": names[r["urn"]],
            "deps": sorted({names[d] for d in r.get("dependencies", []) if d in names}),
            # The same inputs, so the floor's program and engine carry the same
            # properties: Pulumi's own cost grows with their number, not only with
            # the resources'. Pulumi's own (__provider) stay out.
            "inputs": {k: v for k, v in (r.get("inputs") or {}).items() if not k.startswith("__")},
        }
        for r in resources
    ]


def count_resources(stack: Stack) -> tuple[int, int]:
    """(dynamic resources, everything in the state: stack and providers too)."""
    state = json.loads(stack.pulumi("stack", "export"))
    every = state["deployment"].get("resources") or []
    return sum(r["type"].startswith(DYNAMIC) for r in every), len(every)
