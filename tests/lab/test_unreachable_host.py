"""A host that stops answering while a stack is refreshed: one connect attempt
and one timeout for it, the other hosts refreshed, and the stack converging once
it answers again.

The lab drops every packet to and from the host on its switch
(hostnet_lab.fault), so a connect to it times out as to a dead machine. A sniffer
on the switch's port toward the controller counts connection attempts: TCP SYNs
to the host's port 22, one per source port (retransmissions of one attempt
count once).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import hostnet_lab
from hostnet.transport import Connection
from hostnet_lab import LabInfo
from hostnet_lab.nodes import SW32
from tests.e2e import events, hoststate
from tests.e2e.conftest import Stack, close_stack, open_stack

pytestmark = pytest.mark.lab

HOSTS = ("h1", "h2", "h3")
DOWN = "h2"
# The small fleet's hosts set no connect_timeout: the engine's default applies.
CONNECT_TIMEOUT = Connection(address="-").connect_timeout
CTL_PORT = "ctl"  # the switch's port toward the controller (hn-ctl)

_SNIFFER = r"""
import socket, struct, sys
port, dst = sys.argv[1], socket.inet_aton(sys.argv[2])
# Every protocol: frames a bridge port receives reach only the taps for all
# protocols; the bridge takes them before the per-protocol handlers.
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
sniff.bind((port, 0))
print("ready", flush=True)
while True:
    frame = sniff.recv(256)
    ip = frame[14:]
    if frame[12:14] != b"\x08\x00" or len(ip) < 40 or ip[9] != 6 or ip[16:20] != dst:
        continue
    tcp = ip[(ip[0] & 15) * 4 :]
    sport, dport = struct.unpack("!HH", tcp[:4])
    if dport == 22 and tcp[13] & 0x12 == 0x02:  # SYN without ACK
        print(socket.inet_ntoa(ip[12:16]), sport, flush=True)
"""


@contextmanager
def connect_attempts(address: str) -> Iterator[list[str]]:
    """The connection attempts to ``address``:22 seen on the lab switch during the
    block, as "source-address source-port", filled in when the block ends."""
    sniffer = subprocess.Popen(
        ["ip", "netns", "exec", SW32, sys.executable, "-c", _SNIFFER, CTL_PORT, address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert sniffer.stdout is not None
    ready = sniffer.stdout.readline().strip()
    if ready != "ready":
        sniffer.kill()
        raise AssertionError(f"the sniffer did not start: {ready} {sniffer.communicate()[1]}")
    attempts: list[str] = []
    try:
        yield attempts
    finally:
        sniffer.terminate()
        out, _ = sniffer.communicate(timeout=30)
        attempts += sorted({line.strip() for line in out.splitlines() if line.strip()})


def _snapshots() -> dict[str, Any]:
    return {host: hoststate.snapshot(host) for host in HOSTS}


def _resources(stack: Stack) -> dict[str, dict[str, Any]]:
    """URN -> outputs of every hostnet resource in the stack's state, without the
    provider's pickled code (a secret, encrypted anew at every write)."""
    state = json.loads(stack.pulumi("stack", "export").stdout)
    return {
        r["urn"]: {k: v for k, v in r.get("outputs", {}).items() if k != "__provider"}
        for r in state["deployment"]["resources"]
        if "dynamic/hostnet" in r["type"]
    }


def _drift(host: str, n: int) -> str:
    """Remove one of the small fleet's routes on a host by hand; its resource's name."""
    proc = hostnet_lab.host_exec(host, ["ip", "route", "del", f"172.29.{100 + 10 * n + 2}.0/24"])
    assert proc.returncode == 0, proc.stderr
    return f"{host}-fleet-a-beyond"


def test_blackhole_makes_connects_time_out(lab: LabInfo) -> None:
    with hostnet_lab.blackholed("h3"):
        assert hostnet_lab.is_blackholed("h3") and not hostnet_lab.is_blackholed("h1")
        with pytest.raises(TimeoutError):
            socket.create_connection((lab.hosts["h3"], 22), timeout=2).close()
        socket.create_connection((lab.hosts["h1"], 22), timeout=10).close()
    assert not hostnet_lab.is_blackholed("h3")
    socket.create_connection((lab.hosts["h3"], 22), timeout=10).close()


def test_refresh_with_a_host_that_stopped_answering(
    lab: LabInfo, pulumi_env: dict[str, str], tmp_path: Path
) -> None:
    before = _snapshots()
    stack = open_stack("small-fleet", env=pulumi_env, tmp_path=tmp_path)
    try:
        stack.up()
        # A bridge's MAC follows its ports, which join after its create: a first
        # refresh records it, so that what the second one reads compares equal.
        stack.pulumi("refresh", "--yes", "--skip-preview")
        state = _resources(stack)
        assert len(state) >= 40 and {urn.split("::")[-1][:2] for urn in state} == set(HOSTS)
        # Drift on the hosts that still answer: their refresh must record it.
        drifted = {_drift("h1", 1), _drift("h3", 3)}

        with hostnet_lab.blackholed(DOWN), connect_attempts(lab.hosts[DOWN]) as attempts:
            start = time.monotonic()
            proc = stack.pulumi("refresh", "--yes", "--skip-preview", "--json", check=False)
            elapsed = time.monotonic() - start
        assert proc.returncode != 0, proc.stdout[-3000:]
        steps = events.parse(proc.stdout)
        print(f"refresh with {DOWN} blackholed: {elapsed:.1f} s; connect attempts {attempts}")

        assert len(attempts) == 1, f"connection attempts to {DOWN}: {attempts}"
        assert elapsed < 2 * CONNECT_TIMEOUT, f"refresh took {elapsed:.1f} s"
        failed = events.urns(steps, "resOpFailedEvent")
        on_down = {urn for urn in state if events.name(urn).startswith(f"{DOWN}-")}
        assert failed == on_down, sorted(events.name(u) for u in failed ^ on_down)
        # One error for them all: the same words after "on host NAME (ADDRESS): "
        # (what comes before it names each resource).
        address = lab.hosts[DOWN]
        messages = [str(events.errors(steps).get(urn)) for urn in failed]
        where = f"on host {DOWN} ({address}): "
        assert all(where in message for message in messages), messages
        said = {message.split(where, 1)[1] for message in messages}
        assert len(said) == 1 and "timed out" in next(iter(said)), said
        refreshed = events.urns(steps, "resOutputsEvent")
        assert refreshed >= set(state) - on_down, sorted(set(state) - on_down - refreshed)

        after = _resources(stack)
        gone = {urn for urn in state if events.name(urn) in drifted}
        assert set(after) == set(state) - gone, sorted(set(state) ^ set(after))
        changed = [events.name(urn) for urn in after if after[urn] != state[urn]]
        assert not changed, changed

        # It answers again: refresh finds nothing more, up repairs the drift.
        stack.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")
        stack.up()
        stack.up("--expect-no-changes")
        stack.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")
        assert set(_resources(stack)) == set(state)
        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences(before, _snapshots())
    finally:
        close_stack(stack)
