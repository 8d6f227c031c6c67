"""Seed stack benchmark: `pulumi up` and `pulumi destroy` of the seed against the
engine floor, the same resource graph with a provider that does nothing.

Runs inside the lab's control namespace (see bench/README.md). The seed is the
repo's root project, stack ``lab`` (Pulumi.lab.yaml), in a temporary file
backend; the floor is bench/noop, copied to a temporary directory, its graph
taken from the seed's state after the first up. Runs alternate (seed up, seed
destroy, floor up, floor destroy); medians are printed. The provider's share is
seed time minus floor time: everything the engine, the language host and the
program do is in both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import load_average, machine_line, require_lab, table

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

    def timed(self, verb: str) -> float:
        start = time.perf_counter()
        self.pulumi(verb, "--yes", "--skip-preview")
        return time.perf_counter() - start


def pulumi_env(backend: Path) -> dict[str, str]:
    env = dict(os.environ, PULUMI_BACKEND_URL=f"file://{backend}")
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    env.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    if "PULUMI_CONFIG_PASSPHRASE" not in env and "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
        env["PULUMI_CONFIG_PASSPHRASE"] = "hostnet-lab"
    return env


def noop_project(dest: Path) -> Path:
    """A copy of bench/noop whose virtualenv is the checkout's, by absolute path."""
    shutil.copytree(NOOP, dest, ignore=shutil.ignore_patterns("__pycache__"))
    project = dest / "Pulumi.yaml"
    venv = REPO / ".venv"
    project.write_text(re.sub(r"virtualenv: .*", f"virtualenv: {venv}", project.read_text()))
    return dest


def shape_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The seed's dynamic resources in state order (dependency order), each with the
    names it depends on and the size of its inputs."""
    resources = [r for r in state["deployment"]["resources"] if r["type"].startswith(DYNAMIC)]
    names = {r["urn"]: r["urn"].rsplit("::", 1)[1] for r in resources}
    return [
        {
            "name": names[r["urn"]],
            "deps": sorted({names[d] for d in r.get("dependencies", []) if d in names}),
            "pad": len(json.dumps(r.get("inputs", {}))),
        }
        for r in resources
    ]


def count_resources(stack: Stack) -> tuple[int, int]:
    """(dynamic resources, everything in the state: stack and providers too)."""
    state = json.loads(stack.pulumi("stack", "export"))
    every = state["deployment"].get("resources") or []
    return sum(r["type"].startswith(DYNAMIC) for r in every), len(every)


@dataclass
class Runs:
    seed_up: list[float]
    seed_destroy: list[float]
    floor_up: list[float]
    floor_destroy: list[float]
    resources: int = 0


def one_round(seed: Stack, floor: Stack, runs: Runs, *, shape: Path) -> None:
    runs.seed_up.append(seed.timed("up"))
    if not shape.exists():
        state = json.loads(seed.pulumi("stack", "export"))
        shape.write_text(json.dumps({"resources": shape_of(state)}, indent=1))
        floor.pulumi("config", "set", "shapeFile", str(shape))
    counts = count_resources(seed)
    runs.seed_destroy.append(seed.timed("destroy"))
    runs.floor_up.append(floor.timed("up"))
    floor_counts = count_resources(floor)
    if floor_counts != counts:
        raise BenchError(f"the floor has {floor_counts} resources, the seed {counts}")
    runs.floor_destroy.append(floor.timed("destroy"))
    runs.resources = counts[0]
    print(
        f"  round {len(runs.seed_up)}: seed up {runs.seed_up[-1]:.1f} s, destroy "
        f"{runs.seed_destroy[-1]:.1f} s; floor up {runs.floor_up[-1]:.1f} s, destroy "
        f"{runs.floor_destroy[-1]:.1f} s; {counts[0]} resources ({counts[1]} in state "
        "with the stack and providers)",
        flush=True,
    )


def results_table(runs: Runs) -> str:
    rows = []
    for phase, seed_runs, floor_runs in (
        ("up", runs.seed_up, runs.floor_up),
        ("destroy", runs.seed_destroy, runs.floor_destroy),
    ):
        seed, floor = statistics.median(seed_runs), statistics.median(floor_runs)
        share = seed - floor
        rows.append(
            [
                phase,
                f"{seed:.1f}",
                f"{floor:.1f}",
                f"{share:.1f}",
                f"{share / seed * 100:.0f}%",
                f"{share / max(runs.resources, 1) * 1000:.0f}",
                " ".join(f"{r:.1f}" for r in seed_runs),
                " ".join(f"{r:.1f}" for r in floor_runs),
            ]
        )
    headers = [
        "pulumi",
        "seed s",
        "floor s",
        "provider s",
        "provider %",
        "ms/resource",
        "seed runs",
        "floor runs",
    ]
    return table(headers, rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    rounds = 1 if parser.parse_args().quick else 3
    require_lab("seed_up.py")
    if shutil.which("pulumi") is None:
        sys.exit("seed_up.py: no pulumi on PATH: `source scripts/pulumi-env.sh` first")
    print(machine_line())
    tmp = Path(tempfile.mkdtemp(prefix="hostnet-bench-"))
    (tmp / "backend").mkdir()
    env = pulumi_env(tmp / "backend")
    seed = Stack(workdir=REPO, name="lab", env=env)
    floor = Stack(workdir=noop_project(tmp / "noop"), name="floor", env=env)
    runs = Runs([], [], [], [])
    try:
        for stack in (seed, floor):
            stack.pulumi("stack", "init", stack.name, "--secrets-provider", "passphrase")
        print(f"seed: {REPO} stack lab; floor: {floor.workdir} (backend {tmp / 'backend'})")
        for _ in range(rounds):
            one_round(seed, floor, runs, shape=tmp / "shape.json")
    except BenchError as err:
        print(f"seed_up.py: {err}", file=sys.stderr)
        return 1
    finally:
        cleanup(seed, floor, tmp)
    print(
        f"\nWall seconds, median of {rounds}; {runs.resources} resources; provider = seed - "
        "floor (ms/resource: provider seconds spread over the resources)"
    )
    print(results_table(runs))
    print(f"load average at the end: {load_average()}")
    return 0


def cleanup(seed: Stack, floor: Stack, tmp: Path) -> None:
    """Destroy whatever is still up; the backend goes with tmp (no `stack rm`)."""
    for stack in (seed, floor):
        try:
            if count_resources(stack)[0]:
                stack.pulumi("destroy", "--yes", "--skip-preview")
        except BenchError as err:
            print(f"seed_up.py: cleanup of stack {stack.name}: {err}", file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
