"""Old hosts over real SSH: interpreter discovery, a host with only Python 2.7, the
lab's --host-python and --old-kernel. Runs inside hn-ctl.

The Python 2.7 host is h3 seen through a second sshd of its own (port 2200)
whose sessions find nothing on PATH but ``python`` and ``python2`` (the pyenv
2.7.18 interpreter), as on a host where python3 was never installed.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

import hostnet_lab
from hostnet import errors, transport
from hostnet.payload import DISCOVERY
from hostnet.transport import Connection
from hostnet_lab import LabError, LabInfo
from hostnet_lab import hosts as labhosts
from tests.e2e import hoststate
from tests.lab.test_transport import _conn, _host_key

pytestmark = pytest.mark.lab

PORT = 2200
PY27_BIN = "/run/hostnet-test-py27"
SSHD_CONFIG = "/run/hostnet-test-sshd-py27"


def _wait_listening(address: str, port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the second sshd exited"
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {address}:{port}")


@pytest.fixture
def py27_only_sshd(lab: LabInfo) -> Iterator[Connection]:
    """h3 through an sshd whose sessions have only Python 2.7 on PATH."""
    python27 = str(labhosts.pyenv_python("2.7"))
    config = hostnet_lab.host_exec("h3", ["cat", "/run/hostnet-lab/sshd_config"]).stdout
    config = config.replace("Port 22\n", f"Port {PORT}\n")
    config = config.replace("PidFile /run/sshd.pid", f"PidFile {SSHD_CONFIG}.pid")
    config = config.replace("SetEnv PATH=", f"SetEnv PATH={PY27_BIN} #")
    assert f"SetEnv PATH={PY27_BIN} #" in config
    script = (
        f"mkdir -p {PY27_BIN} && ln -sf {python27} {PY27_BIN}/python && "
        f"ln -sf {python27} {PY27_BIN}/python2 && cat > {SSHD_CONFIG}"
    )
    made = hostnet_lab.host_exec("h3", ["/bin/sh", "-c", script], input=config)
    assert made.returncode == 0, made.stderr
    argv = hostnet_lab.node_argv("h3", ["/usr/sbin/sshd", "-D", "-e", "-f", SSHD_CONFIG])
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(lab.hosts["h3"], PORT, proc)
        yield _conn(
            lab, "h3", port=PORT, known_hosts=None, host_key=_host_key(lab, lab.hosts["h3"])
        )
    finally:
        transport.close_all()
        proc.terminate()
        proc.wait(timeout=10)
        hostnet_lab.host_exec("h3", ["rm", "-rf", PY27_BIN, SSHD_CONFIG, f"{SSHD_CONFIG}.pid"])


def test_a_host_with_only_python_2_7_is_refused_and_left_unchanged(
    py27_only_sshd: Connection,
) -> None:
    before = hoststate.snapshot("h3")
    runs_before = hostnet_lab.host_exec("h3", ["ls", "-A", "/run"]).stdout
    with pytest.raises(errors.NoSuitablePython) as raised:
        transport.agent_for(py27_only_sshd)
    message = str(raised.value)
    for name in DISCOVERY[:-1]:
        assert f"{name}: not found" in message, name
    assert "python: Python 2.7.18, older than 3.6" in message
    assert "install Python 3.6 or newer on the host" in message  # the remedy
    assert not hoststate.differences({"h3": before}, {"h3": hoststate.snapshot("h3")})
    assert hostnet_lab.host_exec("h3", ["ls", "-A", "/run"]).stdout == runs_before


def test_a_named_interpreter_is_used_as_it_is(lab: LabInfo) -> None:
    python37 = str(labhosts.pyenv_python("3.7"))
    agent = transport.agent_for(_conn(lab, "h2", python=python37))
    assert agent.info["python"].startswith("3.7.") and agent.info["pyroute2"] == "0.8.1"
    assert agent.info["interpreter"] == python37
    routes = agent.call("route_list")
    assert any(r["dst"] == "10.32.171.0/24" and r["dev"] == "ens32" for r in routes), routes
    with pytest.raises(errors.NoSuitablePython, match=r"/nowhere/python3: not found"):
        transport.agent_for(_conn(lab, "h2", python="/nowhere/python3"))


def test_lab_host_python_and_old_kernel_reach_new_sessions(lab: LabInfo) -> None:
    transport.close_all()
    labhosts.configure(host_python={"h2": "3.6"}, old_kernel={"h2"})
    try:
        info = transport.agent_for(_conn(lab, "h2")).info
        assert info["python"].startswith("3.6.") and info["interpreter"] == "python3"
        assert info["netlink"] == {"ext_ack": False, "strict_check": False}
        assert info["iptables_restore_wait"] is False
        # What a session's python3 meets there: memfd_create and the netlink options
        # fail as on a 3.10 kernel (through libc, as any program's calls would).
        probe = (
            "import ctypes, socket\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "print(libc.memfd_create(b'x', 0), ctypes.get_errno())\n"
            "s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\n"
            "for opt in (11, 12):\n"
            "    try:\n"
            "        s.setsockopt(270, opt, 1); print(opt, 'taken')\n"
            "    except OSError as exc:\n"
            "        print(opt, exc.errno)\n"
        )
        ssh = ["ssh", "-F", str(lab.ssh_config_path), f"root@{lab.hosts['h2']}", "python3"]
        done = subprocess.run(
            ssh, input=probe, capture_output=True, text=True, timeout=60, check=False
        )
        # memfd_create: -1 and ENOSYS; both options: ENOPROTOOPT.
        assert done.stdout.split("\n")[:3] == ["-1 38", "11 92", "12 92"], done
    finally:
        transport.close_all()
        labhosts.configure()
    info = transport.agent_for(_conn(lab, "h2")).info
    assert info["netlink"] == {"ext_ack": True, "strict_check": True}
    assert info["pyroute2"] == "0.9.7"


def test_lab_refuses_an_unknown_host_or_interpreter(lab: LabInfo) -> None:
    with pytest.raises(LabError, match="not a lab host: h9"):
        labhosts.configure(host_python={"h9": "3.6"})
    with pytest.raises(LabError, match=r"no pyenv interpreter 2\.5"):
        labhosts.configure(host_python={"h2": "2.5"})
    with pytest.raises(LabError, match="expected HOST=VERSION"):
        labhosts.parse_pairs(["h2"])
