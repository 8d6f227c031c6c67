"""trust_on_first_use through the real CLI: the key a host showed on first use is
pinned in the stack's state, and once the host shows another key, refresh, up
and destroy are refused (the message says the key changed), a new resource on
that host too, and nothing on the host changes; setting ``host_key`` to the new
key re-pins it. The lab host's own key is put back afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import hostnet_lab
from hostnet_lab import LabInfo
from hostnet_lab.nodes import read_state
from tests.e2e import events, hoststate
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.lab

HOST = "h3"
KEY = "/run/hostnet-lab/ssh_host_ed25519_key"  # the host's sshd key, in its own /run
PROGRAM = """\
import pulumi

import pulumi_hostnet as hn

config = pulumi.Config()
host = hn.Host(
    name="h3",
    address=config.require("address"),
    key_file=config.require("keyFile"),
    host_key=config.get("hostKey"),
    trust_on_first_use=True,
)
pinned = hn.Netns("pinned-ns", hn.NetnsArgs(host=host, name="pinned"))
hn.Bridge("pinned-br", hn.BridgeArgs(host=host, name="pinnedbr", mtu=config.get_int("mtu")))
if config.get_bool("more"):
    # After a resource that holds the pin (README, "host keys"): the provider learns
    # a host's pin from the state of that host's resources the engine hands it.
    hn.Netns(
        "later-ns",
        hn.NetnsArgs(host=host, name="later"),
        opts=pulumi.ResourceOptions(depends_on=[pinned]),
    )
"""


def _served_key(address: str) -> str | None:
    """The ed25519 key sshd at ``address`` shows now, as '<type> <base64>'."""
    proc = subprocess.run(
        ["ssh-keyscan", "-T", "5", "-t", "ed25519", address],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if not line.startswith("#") and len(line.split()) >= 3:
            return " ".join(line.split()[1:3])
    return None


def _sh(script: str) -> None:
    proc = hostnet_lab.host_exec(HOST, ["sh", "-c", script])
    assert proc.returncode == 0, proc.stderr


def _reload_sshd(address: str, *, key: str) -> None:
    """SIGHUP the host's sshd (it re-executes itself and reads its key again) and
    wait until it shows ``key``."""
    pid = int((read_state() or {})["nodes"][HOST]["pid"])
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + 30
    while _served_key(address) != key:
        assert time.monotonic() < deadline, f"sshd on {HOST} does not show {key}"
        time.sleep(0.2)


@contextmanager
def changed_host_key(lab: LabInfo) -> Iterator[str]:
    """A block during which the host's sshd has a new key (yielded); the lab's
    own key is back after it."""
    address = lab.hosts[HOST]
    original = _served_key(address)
    assert original is not None
    _sh(f"cp -p {KEY} {KEY}.saved && cp -p {KEY}.pub {KEY}.pub.saved && rm {KEY} {KEY}.pub")
    try:
        _sh(f"ssh-keygen -q -t ed25519 -N '' -C hostnet-lab -f {KEY}")
        new = " ".join(hostnet_lab.host_exec(HOST, ["cat", f"{KEY}.pub"]).stdout.split()[:2])
        _reload_sshd(address, key=new)
        yield new
    finally:
        _sh(f"mv -f {KEY}.saved {KEY} && mv -f {KEY}.pub.saved {KEY}.pub")
        _reload_sshd(address, key=original)


def _open(lab: LabInfo, env: dict[str, str], tmp_path: Path) -> Stack:
    workdir = tmp_path / "tofu"
    workdir.mkdir()
    (workdir / "__main__.py").write_text(PROGRAM)
    (workdir / "Pulumi.yaml").write_text(
        "name: hostnet-tofu\nruntime:\n  name: python\n  options:\n"
        f"    toolchain: pip\n    virtualenv: {Path(sys.prefix)}\n"
    )
    stack = Stack(workdir=workdir, name="lab", env=env)
    stack.pulumi("stack", "init", "lab")
    stack.config_set("address", lab.hosts[HOST])
    stack.config_set("keyFile", str(lab.key_path))
    return stack


def _pins(stack: Stack) -> dict[str, str | None]:
    """Resource name -> the host key its state pinned."""
    state = json.loads(stack.pulumi("stack", "export").stdout)
    return {
        events.name(r["urn"]): r["outputs"]["host"].get("host_key")
        for r in state["deployment"]["resources"]
        if "dynamic/hostnet" in r["type"]
    }


def _refused(stack: Stack, *args: str, names: set[str], key: str) -> None:
    """The command fails for each named resource, saying the host key changed."""
    proc = stack.pulumi(*args, "--json", check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]
    steps = events.parse(proc.stdout)
    failed = events.urns(steps, "resOpFailedEvent")
    assert {events.name(urn) for urn in failed} == names, proc.stdout[-3000:]
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-f", "-"],
        input=f"{HOST} {key}\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    for urn in failed:
        message = events.errors(steps)[urn]
        assert "host key changed" in message and fingerprint in message, message


def test_trust_on_first_use_pins_and_refuses_a_changed_key(
    lab: LabInfo, pulumi_env: dict[str, str], tmp_path: Path
) -> None:
    before = hoststate.snapshot(HOST)
    stack = _open(lab, pulumi_env, tmp_path)
    try:
        stack.up()
        key = _served_key(lab.hosts[HOST])
        assert _pins(stack) == {"pinned-ns": key, "pinned-br": key}
        stack.up("--expect-no-changes")  # the pin is state, not a change of the program

        with changed_host_key(lab) as new:
            on_host = hoststate.snapshot(HOST)
            both = {"pinned-ns", "pinned-br"}
            _refused(stack, "refresh", "--yes", "--skip-preview", names=both, key=new)
            stack.config_set("mtu", "1400")
            stack.config_set("more", "true")  # a new resource: the key its host pinned
            # --continue-on-error: without it the engine stops at the first refusal,
            # and whether the other resource's step had started by then is a race.
            again = ("--yes", "--skip-preview", "--continue-on-error")
            _refused(stack, "up", *again, names={"pinned-br", "later-ns"}, key=new)
            _refused(stack, "destroy", *again, names=both, key=new)
            assert not hoststate.differences({HOST: on_host}, {HOST: hoststate.snapshot(HOST)})
            assert _pins(stack) == {"pinned-ns": key, "pinned-br": key}

            # The remedy the README gives: the new key, once checked, set as host_key.
            stack.config_set("hostKey", new)
            stack.up()
            assert hoststate.links(HOST)["pinnedbr"]["mtu"] == 1400
            assert _pins(stack) == {"pinned-ns": new, "pinned-br": new, "later-ns": new}
            stack.pulumi("config", "rm", "hostKey")
            stack.up("--expect-no-changes")  # the new pin stays in the state
            stack.pulumi("destroy", "--yes", "--skip-preview")
            assert not hoststate.differences({HOST: before}, {HOST: hoststate.snapshot(HOST)})
    finally:
        stack.pulumi("destroy", "--yes", "--skip-preview", check=False)
        stack.pulumi("stack", "rm", "--yes", "lab", check=False)
