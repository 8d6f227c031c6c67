"""Where the provider host's time goes, when HOSTNET_PROFILE names a directory.

Every provider call (check, diff, create, read, update, delete) runs under a
cProfile profiler of its thread, and its start and end are recorded. At exit the
process writes ``provider-PID.pstats`` (all threads merged; read it with
``python -m pstats``) and ``provider-PID.calls.jsonl`` (a first line with the
process's age when hostnet was imported, then one line per call: method, kind,
resource, start and end in seconds since that import). Unset, the methods run as
they are.
"""

from __future__ import annotations

import atexit
import cProfile
import functools
import json
import os
import pstats
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

_DIR = os.environ.get("HOSTNET_PROFILE")
_START = time.monotonic()
_LOCK = threading.Lock()
_PROFILERS: list[cProfile.Profile] = []
_CALLS: list[dict[str, Any]] = []
_LOCAL = threading.local()


def _age() -> float | None:
    """Seconds since this process started (Linux), for the first line of calls.jsonl."""
    try:
        started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return round(uptime - started / os.sysconf("SC_CLK_TCK"), 3)


_AGE_AT_IMPORT = _age() if _DIR else None


def _profiler() -> cProfile.Profile:
    profiler: cProfile.Profile | None = getattr(_LOCAL, "profiler", None)
    if profiler is None:
        profiler = cProfile.Profile()
        _LOCAL.profiler = profiler
        with _LOCK:
            _PROFILERS.append(profiler)
    return profiler


def _resource(args: tuple[Any, ...]) -> str:
    props = args[-1] if args else None
    owner = props.get("owner") if isinstance(props, Mapping) else None
    return str(owner.get("resource", "")) if isinstance(owner, Mapping) else ""


def profiled(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` itself unless HOSTNET_PROFILE is set."""
    if not _DIR:
        return method

    @functools.wraps(method)
    def run(self: Any, *args: Any) -> Any:
        start = time.monotonic() - _START
        try:
            return _profiler().runcall(method, self, *args)
        finally:
            call = {
                "method": method.__name__,
                "kind": getattr(self, "kind", ""),
                "resource": _resource(args),
                "start": round(start, 4),
                "end": round(time.monotonic() - _START, 4),
                "thread": threading.get_ident(),
            }
            with _LOCK:
                _CALLS.append(call)

    return run


def write() -> None:
    """Write what was recorded (once; at exit, or before the process ends itself)."""
    with _LOCK:
        profilers, calls = list(_PROFILERS), list(_CALLS)
        _CALLS.clear()
    if not _DIR or not calls:
        return
    out = Path(_DIR)
    out.mkdir(parents=True, exist_ok=True)
    merged = pstats.Stats(profilers[0])
    for profiler in profilers[1:]:
        merged.add(profiler)
    merged.dump_stats(str(out / f"provider-{os.getpid()}.pstats"))
    head = {"process_age_at_import": _AGE_AT_IMPORT}
    ordered = sorted(calls, key=lambda c: c["start"])
    lines = "".join(json.dumps(line) + "\n" for line in [head, *ordered])
    (out / f"provider-{os.getpid()}.calls.jsonl").write_text(lines)


if _DIR:
    atexit.register(write)
