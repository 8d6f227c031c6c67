"""What this process asked of each host: SSH connections, agent round trips,
snapshots and the reads they served.

With HOSTNET_STATS=PATH in the environment, the process appends one JSON line per
host to PATH when it ends (the Pulumi provider host ends on the engine's SIGINT,
so a run's counts land there): {"pid", "host", "ssh_connections", "agent_starts",
"round_trips", "ops", "writes", "snapshots", "served", "by_netns": {NETNS:
{"round_trips", "snapshots"}}}, NETNS being the namespace reference of a request's
first op ("" for the agent's own). bench/ and the counting tests read it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

ENV = "HOSTNET_STATS"


@dataclass
class HostStats:
    ssh_connections: int = 0
    agent_starts: int = 0
    round_trips: int = 0
    ops: int = 0
    writes: int = 0
    snapshots: int = 0
    served: int = 0
    by_netns: dict[str, dict[str, int]] = field(default_factory=dict)


_LOCK = threading.Lock()
_HOSTS: dict[str, HostStats] = {}
_written: list[bool] = []  # once written, the process adds no more lines


def _host(host: str) -> HostStats:
    return _HOSTS.setdefault(host, HostStats())


def ssh_opened(host: str) -> None:
    with _LOCK:
        _host(host).ssh_connections += 1


def agent_started(host: str) -> None:
    with _LOCK:
        _host(host).agent_starts += 1


def round_trip(
    host: str, *, netns: str | None, ops: int, write: bool, snapshot: bool = False
) -> None:
    with _LOCK:
        found = _host(host)
        found.round_trips += 1
        found.ops += ops
        found.writes += int(write)
        found.snapshots += int(snapshot)
        where = found.by_netns.setdefault(netns or "", {"round_trips": 0, "snapshots": 0})
        where["round_trips"] += 1
        where["snapshots"] += int(snapshot)


def served(host: str, reads: int) -> None:
    with _LOCK:
        _host(host).served += reads


def current() -> dict[str, dict[str, Any]]:
    """The counts so far, by host."""
    with _LOCK:
        return {host: asdict(found) for host, found in _HOSTS.items()}


def write() -> None:
    """Append this process's lines to $HOSTNET_STATS, once."""
    path = os.environ.get(ENV)
    with _LOCK:
        if not path or _written:
            return
        _written.append(True)
        lines = [
            json.dumps({"pid": os.getpid(), "host": host, **asdict(found)}, sort_keys=True) + "\n"
            for host, found in sorted(_HOSTS.items())
        ]
    if not lines:
        return
    # One write() on an O_APPEND file per process: lines of processes sharing the
    # file never interleave within a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, "".join(lines).encode())
    finally:
        os.close(fd)
