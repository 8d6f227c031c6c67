"""Fleet benchmark: examples/fleet at C containers per host against the engine floor.

For each C (10 and 50 by default; ``--sizes 10,50,100``), in one run: `pulumi up`,
a no-op `up`, `refresh` and `destroy` of the fleet stack, then the same four of the
floor (bench/noop with the fleet's graph, taken from its state after the up).
Per operation it prints the wall time of both, their ratio against the issue's
target, the provider's share (fleet - floor) per resource, the SSH connections
opened per host and the agent round trips per resource (from the provider's
HOSTNET_STATS lines), and the peak RSS of the provider process (its VmHWM, polled).
Then route_ensure per op with 10, 300 and 3,000 routes in the table (routes.py).

Runs inside the lab's control namespace, with at least C containers per host:
`hostnet lab up --containers 50` (make bench does it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from _common import fmt, load_average, machine_line, require_lab, table, verdict
from _stacks import (
    REPO,
    BenchError,
    Stack,
    compile_hostnet,
    count_resources,
    noop_project,
    project_copy,
    pulumi_env,
    shape_of,
)
from routes import print_route_costs

FLEET = REPO / "examples" / "fleet"
# The targets: the fleet's time over the floor's, per operation.
TARGETS = {"up": 1.3, "no-op up": 1.15, "refresh": 1.15, "destroy": 1.3}
ARGS = {
    "up": ("up", "--yes", "--skip-preview"),
    "no-op up": ("up", "--yes", "--skip-preview", "--expect-no-changes"),
    "refresh": ("refresh", "--yes", "--skip-preview", "--expect-no-changes"),
    "destroy": ("destroy", "--yes", "--skip-preview"),
}
PROVIDER_MARK = b"pulumi.dynamic"  # in the dynamic provider host's command line
PROGRAM_MARK = b"pulumi-language-python-exec"  # in the program's


@dataclass
class Phase:
    seconds: float
    cpu: float  # the CLI, the language host, the program and the provider host (Stack.timed)
    peak_rss_mb: float | None
    provider_cpu: float  # the provider host processes' own CPU seconds
    program_cpu: float  # the program's (part of ``cpu``)
    stats: list[dict[str, Any]] = field(default_factory=list)


class ProviderWatch(threading.Thread):
    """The highest VmHWM of this run's dynamic provider processes while they run,
    and the CPU time they and the program had used when last seen, polled from
    /proc (what happens in the last poll interval of a process is missed). This
    run's: the ones whose environment holds ``mark`` (other people's runs share the
    machine's PIDs)."""

    def __init__(self, mark: str) -> None:
        super().__init__(daemon=True)
        self.mark = mark.encode()
        self.stopping = threading.Event()
        self.peak_kb = 0
        self.cpu_ticks: dict[int, int] = {}
        self.program_ticks: dict[int, int] = {}

    def run(self) -> None:
        while not self.stopping.wait(0.1):
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    self._look(proc)

    def _look(self, proc: Path) -> None:
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if PROVIDER_MARK not in cmdline and PROGRAM_MARK not in cmdline:
                return
            if self.mark not in (proc / "environ").read_bytes().split(b"\0"):
                return
            status = (proc / "status").read_text()
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        if PROGRAM_MARK in cmdline:
            self.program_ticks[int(proc.name)] = ticks
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        self.cpu_ticks[int(proc.name)] = ticks

    def stop(self) -> tuple[float | None, float, float]:
        """(peak RSS in MB, provider CPU seconds, program CPU seconds)."""
        self.stopping.set()
        self.join()
        tick = os.sysconf("SC_CLK_TCK")
        cpu, program = sum(self.cpu_ticks.values()) / tick, sum(self.program_ticks.values()) / tick
        return (self.peak_kb / 1024 if self.peak_kb else None), cpu, program


@contextmanager
def watched(mark: str) -> Iterator[ProviderWatch]:
    watcher = ProviderWatch(mark)
    watcher.start()
    try:
        yield watcher
    finally:
        watcher.stopping.set()


def run_phase(stack: Stack, op: str, stats_file: Path, *, counted: bool = True) -> Phase:
    """One operation, timed, with the provider's round-trip statistics and peak RSS."""
    stats_file.unlink(missing_ok=True)
    env = {**stack.env, "HOSTNET_STATS": str(stats_file)}
    with watched(f"HOSTNET_STATS={stats_file}") as watcher:
        timing = replace(stack, env=env).timed(*ARGS[op])
        # hostnet's provider host writes its counts as it ends, which can be just
        # after the CLI returns; the floor's writes none.
        until = time.monotonic() + 20
        while counted and not stats_file.exists() and time.monotonic() < until:
            time.sleep(0.1)
        rss, provider_cpu, program_cpu = watcher.stop()
    lines = stats_file.read_text().splitlines() if stats_file.exists() else []
    stats = [json.loads(line) for line in lines if line.strip()]
    return Phase(timing.wall, timing.cpu, rss, provider_cpu, program_cpu, stats)


def per_host(stats: list[dict[str, Any]], key: str) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in stats:
        totals[line["host"]] += int(line.get(key, 0))
    return dict(totals)


def most_per_netns(stats: list[dict[str, Any]]) -> int:
    """The most round trips any one host and namespace took."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for line in stats:
        for netns, counts in line.get("by_netns", {}).items():
            totals[(line["host"], netns)] += int(counts.get("round_trips", 0))
    return max(totals.values(), default=0)


def row(op: str, fleet: Phase, floor: Phase, resources: int) -> list[str]:
    ratio = fleet.seconds / floor.seconds
    share = fleet.seconds - floor.seconds
    cpu_share = fleet.cpu - floor.cpu
    ssh = per_host(fleet.stats, "ssh_connections")
    trips = sum(per_host(fleet.stats, "round_trips").values())
    counted = bool(fleet.stats)
    return [
        op,
        f"{fleet.seconds:.1f}",
        f"{floor.seconds:.1f}",
        f"{ratio:.2f}",
        f"<={TARGETS[op]} {verdict(ratio <= TARGETS[op])}",
        f"{share:.1f}",
        f"{share / resources * 1000:.1f}",
        f"{fleet.cpu - fleet.provider_cpu:.1f}/{floor.cpu - floor.provider_cpu:.1f}",
        f"{fleet.program_cpu:.1f}/{floor.program_cpu:.1f}",
        f"{fleet.provider_cpu:.1f}/{floor.provider_cpu:.1f}",
        f"{cpu_share / resources * 1000:.1f}",
        ",".join(str(ssh[h]) for h in sorted(ssh)) if counted else "n/a",
        f"{trips / resources:.2f}" if counted else "n/a",
        str(most_per_netns(fleet.stats)) if counted else "n/a",
        f"{fmt(fleet.peak_rss_mb, 0)}/{fmt(floor.peak_rss_mb, 0)}",
    ]


HEADERS = [
    "pulumi",
    "fleet s",
    "floor s",
    "x floor",
    "target",
    "provider s",
    "ms/resource",
    "CLI+program CPU s fleet/floor",
    "of it program",
    "provider host CPU s",
    "CPU ms/resource",
    "ssh per host",
    "trips/resource",
    "max trips host+ns",
    "RSS MB fleet/floor",
]


def one_size(
    containers: int, tmp: Path, *, skip_checkpoints: bool, parallel: int | None
) -> tuple[int, list[list[str]]]:
    """Fleet then floor at one C; (resources, table rows)."""
    (tmp / "backend").mkdir()
    env = pulumi_env(tmp / "backend")
    if skip_checkpoints:
        env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    if parallel:
        env["PULUMI_PARALLEL"] = str(parallel)  # as --parallel, for every command
    fleet = Stack(workdir=project_copy(FLEET, tmp / "fleet"), name="lab", env=env)
    floor = Stack(workdir=noop_project(tmp / "noop"), name="floor", env=env)
    for stack in (fleet, floor):
        stack.pulumi("stack", "init", stack.name, "--secrets-provider", "passphrase")
    fleet.pulumi("config", "set", "containers", str(containers))
    try:
        fleet_runs = {}
        for op in ARGS:
            fleet_runs[op] = run_phase(fleet, op, tmp / f"stats-{op}.jsonl")
            if op == "up":
                state = json.loads(fleet.pulumi("stack", "export"))
                counts = count_resources(fleet)
                shape = tmp / "shape.json"
                shape.write_text(json.dumps({"resources": shape_of(state)}))
                floor.pulumi("config", "set", "shapeFile", str(shape))
            print(f"  C={containers} fleet {op}: {fleet_runs[op].seconds:.1f} s", flush=True)
        floor_runs = {
            op: run_phase(floor, op, tmp / "stats-floor.jsonl", counted=False) for op in ARGS
        }
        times = ", ".join(f"{floor_runs[op].seconds:.1f}" for op in ARGS)
        print(f"  C={containers} floor {', '.join(ARGS)}: {times} s", flush=True)
    finally:
        cleanup(fleet, floor)
    resources = counts[0]
    return resources, [row(op, fleet_runs[op], floor_runs[op], resources) for op in ARGS]


def cleanup(*stacks: Stack) -> None:
    """Destroy whatever a failed run left up; the backend goes with the directory."""
    for stack in stacks:
        try:
            if count_resources(stack)[0]:
                stack.pulumi("destroy", "--yes", "--skip-preview")
        except BenchError as err:
            print(f"fleet.py: cleanup of stack {stack.name}: {err}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="C = 10 only, fewer route samples")
    parser.add_argument("--sizes", help="containers per host, comma-separated (default 10,50)")
    parser.add_argument(
        "--skip-checkpoints",
        action="store_true",
        help="PULUMI_SKIP_CHECKPOINTS=true for both stacks (state written once, at the end)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        help="PULUMI_PARALLEL=N for both stacks (default: the CLI's, 4 per core)",
    )
    args = parser.parse_args()
    sizes = [int(c) for c in (args.sizes or ("10" if args.quick else "10,50")).split(",")]
    require_lab("fleet.py")
    if shutil.which("pulumi") is None:
        sys.exit("fleet.py: no pulumi on PATH: `source scripts/pulumi-env.sh` first")
    print(machine_line())
    compile_hostnet()
    for containers in sizes:
        tmp = Path(tempfile.mkdtemp(prefix=f"hostnet-fleet-{containers}-"))
        try:
            resources, rows = one_size(
                containers, tmp, skip_checkpoints=args.skip_checkpoints, parallel=args.parallel
            )
        except BenchError as err:
            print(f"fleet.py: C={containers}: {err}", file=sys.stderr)
            return 1
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        checkpoints = "skipped" if args.skip_checkpoints else "after every step"
        checkpoints += f"; parallel {args.parallel or 'the default'}"
        print(
            f"\nC={containers} containers per host: {resources} resources; one run each; "
            f"checkpoints {checkpoints}; provider = fleet - floor; CPU: of the CLI, the "
            "language host and the program (all reaped under the CLI, less the provider "
            "host's as polled from /proc, so up to 0.1 s too much), then the provider host's; "
            "CPU ms/resource: all of it; ssh and trips from HOSTNET_STATS (n/a: not counted)"
        )
        print(table(HEADERS, rows))
    print_route_costs(quick=args.quick)
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
