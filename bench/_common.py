"""What both benchmarks share: the lab guard, timing, statistics, tables.

Benchmarks report figures next to a baseline measured in the same run; they
never fail because a machine is slow.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CTL_ADDRESS = "10.32.171.250"


def require_lab(script: str) -> None:
    """Exit with a message unless this process is in the lab's control namespace.

    Lab addresses are reachable only from hn-ctl; anywhere else the traffic
    would leave the machine. HOSTNET_LAB=1 (set by `hostnet lab exec`) alone is
    not trusted: hn-ctl is recognised by its address.
    """
    if _is_local_address(CTL_ADDRESS):
        return
    hint = (
        "HOSTNET_LAB=1 is set, but this namespace does not hold the control address"
        if os.environ.get("HOSTNET_LAB") == "1"
        else "not inside the lab's control namespace hn-ctl"
    )
    sys.exit(
        f"{script}: refusing to run: {hint} ({CTL_ADDRESS} is not a local address).\n"
        "Run it from the top of the clone with `make bench`, or as: .venv/bin/hostnet lab up && "
        f".venv/bin/hostnet lab exec -- .venv/bin/python bench/{script}"
    )


def _is_local_address(address: str) -> bool:
    try:
        out = subprocess.run(
            ["/usr/sbin/ip", "-j", "-4", "addr", "show"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return any(
        info.get("local") == address for link in json.loads(out) for info in link["addr_info"]
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine adds noise."""
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def machine_line() -> str:
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs, kernel {platform.release()}, "
        f"Python {platform.python_version()}; load average {load_average()}"
    )


@dataclass(frozen=True, kw_only=True)
class Stat:
    """Samples in milliseconds (or seconds: the caller's unit)."""

    samples: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        if self.n < 2:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=10, method="inclusive")[8]


def sample(action: Callable[[], object], *, n: int, warmup: int = 2) -> Stat:
    """Run action warmup + n times; the last n wall times, in ms."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
    return Stat(samples=tuple(times))


def wall(action: Callable[[], object]) -> float:
    """Seconds one call of action takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table, first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"
