"""What ``pulumi up`` prints for each failure class, captured from the real CLI.

Every text must name the resource, the host (name and address) and a remedy
naming something that exists, in hostnet's one paragraph, with no more than the
few lines of traceback the Pulumi SDK forces before it. The table is printed
(``-s``) so a reader sees the texts themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import hostnet_lab as lab
from hostnet_lab import LabInfo
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve().parent / "failures"
# The Python dynamic provider host prints a traceback of three frames first.
MAX_LINES_BEFORE = 10


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    host: dict[str, Any] = field(default_factory=dict)
    resource: str = "bridge"
    expect: tuple[str, ...] = ()
    setup: Callable[[LabInfo, Path], Any] | None = None


@contextmanager
def _foreign_bridge(_: LabInfo, __: Path) -> Iterator[None]:
    lab.host_exec("h2", ["ip", "link", "add", "hnfail0", "type", "bridge"])
    try:
        yield
    finally:
        lab.host_exec("h2", ["ip", "link", "del", "hnfail0"])


@contextmanager
def _held_lock(_: LabInfo, __: Path) -> Iterator[None]:
    lab.host_exec("h2", ["mkdir", "-p", "/run/hostnet"])
    holder = subprocess.Popen(
        lab.node_argv("h2", ["flock", "/run/hostnet/lock", "sleep", "60"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # flock and its sleep: the group started here
        holder.wait()


@contextmanager
def _killer_python(_: LabInfo, tmp: Path) -> Iterator[str]:
    fake = tmp / "fakepy"
    fake.mkdir()
    shutil.copy(HERE / "killer.py", fake / "killer.py")
    script = fake / "python3"
    script.write_text(f'#!/bin/sh\nexec /usr/bin/python3 -u {fake}/killer.py "$@"\n')
    script.chmod(0o755)
    yield str(script)


def _other_key(tmp: Path) -> str:
    key = tmp / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return str(key)


CASES = [
    Case(
        name="foreign object of the same name",
        setup=_foreign_bridge,
        expect=("name: ", "belongs to another owner", "set adopt=True on the resource", "hnfail0"),
    ),
    Case(
        name="unreachable host",
        host={
            "address": "10.32.171.99",
            "connect_timeout": 2,
            "known_hosts": None,
            "trust_on_first_use": True,
        },
        expect=("(10.32.171.99)", "check host.address and host.port", "10.32.171.99 port 22"),
    ),
    Case(
        name="wrong host key",
        host={"known_hosts": None, "host_key": "OTHER"},
        expect=("host key", "update the pin"),
    ),
    Case(
        name="login key refused",
        host={"key_file": "OTHER_KEY"},
        expect=("refused the key", "authorized_keys", "host.user root"),
    ),
    Case(
        name="host without a suitable Python",
        host={"python": "/usr/bin/python9"},
        expect=("not found", "set host.python", "/usr/bin/python9: not found"),
    ),
    Case(
        name="agent killed mid-run",
        host={"python": "KILLER"},
        setup=_killer_python,
        expect=("agent", "run pulumi up again"),
    ),
    Case(
        name="held host lock",
        host={"request_timeout": 2},
        setup=_held_lock,
        expect=("/run/hostnet/lock", "another hostnet run", "wait for it to finish"),
    ),
    Case(
        name="gateway not reachable",
        resource="route",
        expect=("via: 10.99.0.1 is not inside any network connected", "change via in the program"),
    ),
]


def _settings(case: Case, lab_info: LabInfo, tmp: Path, made: Any) -> dict[str, Any]:
    host = dict(case.host)
    if host.get("host_key") == "OTHER":
        pub = Path(_other_key(tmp) + ".pub").read_text().split()
        host["host_key"] = f"{pub[0]} {pub[1]}"
    if host.get("key_file") == "OTHER_KEY":
        host["key_file"] = _other_key(tmp)
    if host.get("python") == "KILLER":
        host["python"] = made
    return host


def _hostnet_text(output: str) -> tuple[str, int]:
    """hostnet's paragraph, and how many lines the CLI printed before it from the
    resource's "error:" line in its diagnostics on."""
    lines = output.splitlines()
    marker = "hostnet.HostnetFailure: "
    end = next((i for i, line in enumerate(lines) if marker in line), None)
    assert end is not None, output
    start = max(i for i in range(end + 1) if "error:" in lines[i])
    return lines[end].split(marker, 1)[1], end - start


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.replace(" ", "-"))
def test_error_text(case: Case, lab: LabInfo, pulumi_env: dict[str, str], tmp_path: Path) -> None:
    workdir = tmp_path / "failures"
    shutil.copytree(HERE, workdir)
    (workdir / "Pulumi.yaml").write_text(
        (HERE / "Pulumi.yaml").read_text().replace("../../../.venv", sys.prefix)
    )
    stack = Stack(workdir=workdir, name="lab", env=pulumi_env)
    stack.pulumi("stack", "init", "lab")
    try:
        stack.config_set("keyFile", str(lab.key_path))
        stack.config_set("knownHosts", str(lab.known_hosts_path))
        stack.config_set("resource", case.resource)
        context = case.setup(lab, tmp_path) if case.setup else None
        with context if context is not None else _nothing() as made:
            stack.config_set("host", json.dumps(_settings(case, lab, tmp_path, made)))
            done = stack.pulumi("up", "--yes", "--skip-preview", check=False)
        output = done.stdout + done.stderr
        assert done.returncode != 0, output
        text, before = _hostnet_text(output)
        print(f"\n[{case.name}] ({before} lines before)\n{text}")
        kind = "Route" if case.resource == "route" else "Bridge"
        name = "fail-route" if case.resource == "route" else "fail-bridge"
        assert text.startswith(f'{kind} "{name}" on host h2 ('), text
        assert "To fix: " in text
        for fragment in case.expect:
            assert fragment in text, (fragment, text)
        assert before <= MAX_LINES_BEFORE, output
    finally:
        stack.pulumi("destroy", "--yes", "--skip-preview", check=False)
        stack.pulumi("stack", "rm", "--yes", "--force", "lab", check=False)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None
