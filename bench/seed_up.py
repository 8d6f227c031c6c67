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
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from _common import load_average, machine_line, require_lab, table
from _stacks import (
    REPO,
    BenchError,
    Stack,
    Timing,
    compile_hostnet,
    count_resources,
    noop_project,
    pulumi_env,
    shape_of,
)

PHASES = ("up", "destroy")


@dataclass
class Runs:
    """Timings by (stack, phase): stack "seed" or "floor", phase "up" or "destroy"."""

    timings: dict[tuple[str, str], list[Timing]] = field(default_factory=dict)
    resources: int = 0

    def add(self, stack: str, phase: str, timing: Timing) -> Timing:
        self.timings.setdefault((stack, phase), []).append(timing)
        return timing


def one_round(seed: Stack, floor: Stack, runs: Runs, *, shape: Path) -> None:
    def timed(name: str, stack: Stack, phase: str) -> str:
        timing = runs.add(name, phase, stack.timed(phase, "--yes", "--skip-preview"))
        return f"{name} {phase} {timing.wall:.1f} s (CPU {timing.cpu:.1f} s)"

    said = [timed("seed", seed, "up")]
    if not shape.exists():
        state = json.loads(seed.pulumi("stack", "export"))
        shape.write_text(json.dumps({"resources": shape_of(state)}, indent=1))
        floor.pulumi("config", "set", "shapeFile", str(shape))
    counts = count_resources(seed)
    said += [timed("seed", seed, "destroy"), timed("floor", floor, "up")]
    floor_counts = count_resources(floor)
    if floor_counts != counts:
        raise BenchError(f"the floor has {floor_counts} resources, the seed {counts}")
    said.append(timed("floor", floor, "destroy"))
    runs.resources = counts[0]
    print(
        f"  round {len(runs.timings[('seed', 'up')])}: {'; '.join(said)}; {counts[0]} resources "
        f"({counts[1]} in state with the stack and providers)",
        flush=True,
    )


def results_table(runs: Runs) -> str:
    rows = []
    for phase in PHASES:
        seed_runs, floor_runs = runs.timings[("seed", phase)], runs.timings[("floor", phase)]
        seed = statistics.median(t.wall for t in seed_runs)
        floor = statistics.median(t.wall for t in floor_runs)
        seed_cpu = statistics.median(t.cpu for t in seed_runs)
        floor_cpu = statistics.median(t.cpu for t in floor_runs)
        share, cpu_share = seed - floor, seed_cpu - floor_cpu
        per = 1000 / max(runs.resources, 1)
        rows.append(
            [
                phase,
                f"{seed:.1f}",
                f"{floor:.1f}",
                f"{seed / floor:.2f}",
                f"{share:.1f}",
                f"{share * per:.0f}",
                f"{seed_cpu:.1f}",
                f"{floor_cpu:.1f}",
                f"{cpu_share * per:.0f}",
                " ".join(f"{t.wall:.1f}" for t in seed_runs),
                " ".join(f"{t.wall:.1f}" for t in floor_runs),
            ]
        )
    headers = [
        "pulumi",
        "seed s",
        "floor s",
        "x floor",
        "provider s",
        "ms/resource",
        "seed CPU s",
        "floor CPU s",
        "CPU ms/resource",
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
    compile_hostnet()
    tmp = Path(tempfile.mkdtemp(prefix="hostnet-bench-"))
    (tmp / "backend").mkdir()
    env = pulumi_env(tmp / "backend")
    seed = Stack(workdir=REPO, name="lab", env=env)
    floor = Stack(workdir=noop_project(tmp / "noop"), name="floor", env=env)
    runs = Runs()
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
        "floor (ms/resource: provider seconds spread over the resources); CPU: the CLI, the "
        "language host, the program and the provider host (not the agents on the hosts)"
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
