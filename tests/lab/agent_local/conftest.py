"""The on-host agent, run as a local process inside scratch network namespaces.

No SSH: each test module starts the agent as the transport starts it on a host
(tests/lab/agent_local/localagent.py) inside a namespace hn-agt-<random>, and
talks to it with hostnet's own client. Every namespace and process the tests
create is removed at the end. Needs root; never skips.

The op suite runs three times, once per kind of host (VARIANTS), and every
answer must be the same: the controller's Python; a 3.8 host (pyroute2 0.8.1);
a 3.6 host in the lab's old-kernel mode (hostnet_lab.hosts: the netlink options
of 4.12/4.20 and memfd_create refused as a 3.10 kernel does, iptables-restore
without -w as in 1.4.21). The pyenv interpreters of this machine provide 3.6
and 3.8. The agent's speed without SSH is measured by
bench/agent_local.py, not here.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostnet.agent_client import Agent
from hostnet_lab import hosts as labhosts
from tests.lab.agent_local.localagent import (
    PREFIX,
    PYTHON,
    LocalAgent,
    Variant,
    in_ns,
    netns_names,
    sh,
)

# name -> (pyenv version or None for the controller's Python, old-kernel mode)
VARIANTS = {"default": (None, False), "py3.8": ("3.8", False), "py3.6-old-kernel": ("3.6", True)}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every op test on every kind of host; tests of what only an old host does on
    the old-kernel host only."""
    if "variant" in metafunc.fixturenames:
        name = metafunc.function.__name__
        names = list(VARIANTS)
        if name.startswith("test_old_host"):
            names = ["py3.6-old-kernel"]
        metafunc.parametrize("variant", names, indirect=True, scope="module")


@pytest.fixture(scope="module")
def variant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Variant:
    version, old_kernel = VARIANTS[request.param]
    if version is None:
        return Variant(request.param, str(PYTHON))
    # The files a lab host's session finds first on its PATH (hostnet_lab.hosts).
    bin_dir = tmp_path_factory.mktemp(f"bin-{request.param}")
    files = labhosts.bin_files(python=labhosts.pyenv_python(version), old_kernel=old_kernel)
    for name, text in files.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return Variant(request.param, str(bin_dir / "python3"), str(bin_dir), old_kernel)


@pytest.fixture(scope="module")
def host(variant: Variant) -> Iterator[str]:
    """The namespace the agent runs in (its "host"); a child "container" is PREFIX-c."""
    if os.geteuid() != 0:
        pytest.fail("agent lab tests need root (network namespaces)", pytrace=False)
    for name in (PREFIX, f"{PREFIX}-c"):
        sh("ip", "netns", "add", name)
        in_ns(name, "ip", "link", "set", "lo", "up")
    yield PREFIX
    for name in sorted(netns_names()):
        if name.startswith(PREFIX):
            sh("ip", "netns", "del", name, check=False)


@pytest.fixture(scope="module")
def child(host: str) -> str:
    return f"{host}-c"


@pytest.fixture(scope="module")
def run_dir(variant: Variant, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"hostnet-run-{variant.name}")


@pytest.fixture(scope="module")
def local(host: str, run_dir: Path, variant: Variant) -> Iterator[LocalAgent]:
    """The module's agent process in ``host``."""
    started = LocalAgent(host, run_dir, variant)
    yield started
    assert started.close() == 0


@pytest.fixture(scope="module")
def agent(local: LocalAgent) -> Agent:
    """hostnet's client on the module's agent."""
    assert local.agent is not None
    return local.agent


@pytest.fixture(scope="module")
def holder(host: str) -> Iterator[int]:
    """A process in an unnamed namespace of its own (for pid: and path references)."""
    proc = subprocess.Popen(["unshare", "--net", "sleep", "600"])
    deadline = time.monotonic() + 5
    own = os.stat("/proc/self/ns/net").st_ino
    while os.stat(f"/proc/{proc.pid}/ns/net").st_ino == own:
        assert time.monotonic() < deadline, "unshare did not enter a new namespace"
        time.sleep(0.01)
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def wire(host: str, child: str) -> str:
    """A veth hnw0 (host, 192.168.77.1/24) <-> hnw1 (child, 192.168.77.2/24)."""
    in_ns(host, "ip", "link", "add", "hnw0", "type", "veth", "peer", "name", "hnw1", "netns", child)
    in_ns(host, "ip", "addr", "add", "192.168.77.1/24", "dev", "hnw0")
    in_ns(host, "ip", "link", "set", "hnw0", "up")
    in_ns(child, "ip", "addr", "add", "192.168.77.2/24", "dev", "hnw1")
    in_ns(child, "ip", "link", "set", "hnw1", "up")
    return "hnw0"
