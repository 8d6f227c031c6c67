"""The SSH transport against lab hosts: agents, errors, pooling. Runs inside hn-ctl."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

import hostnet_lab
from hostnet import errors, transport
from hostnet.protocol import Op
from hostnet.transport import Connection
from hostnet_lab import LabInfo

pytestmark = pytest.mark.lab


def _conn(info: LabInfo, host: str = "h1", **overrides: object) -> Connection:
    settings: dict[str, object] = {
        "address": info.hosts[host],
        "key_file": str(info.key_path),
        "known_hosts": str(info.known_hosts_path),
        "connect_timeout": 5.0,
    }
    settings.update(overrides)
    return Connection(**settings)  # type: ignore[arg-type]


def _host_key(info: LabInfo, address: str) -> str:
    for line in info.known_hosts_path.read_text().splitlines():
        names, _, key = line.partition(" ")
        if address in names.split(","):
            return key
    raise AssertionError(f"no known_hosts entry for {address}")


def test_agent_answers_on_every_host(lab: LabInfo) -> None:
    for host in ("h1", "h2", "h3"):
        agent = transport.agent_for(_conn(lab, host))
        assert agent.info["hostname"] == host
        assert agent.call("ping") == {"pong": True}


def test_one_connection_per_host_whatever_the_threads(lab: LabInfo) -> None:
    transport.close_all()
    conns = [_conn(lab, host) for host in ("h1", "h2", "h3")]
    failures: list[BaseException] = []

    def work(conn: Connection) -> None:
        try:
            for _ in range(20):
                transport.agent_for(conn).call("ping")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in conns for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    ss = subprocess.run(
        ["ss", "-Htn", "state", "established", "( dport = :22 )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    peers = sorted(line.split()[-1].rsplit(":", 1)[0] for line in ss.splitlines())
    assert peers == sorted(lab.hosts.values()), ss
    # Seen from each host: one agent (hosts share the machine's PID namespace,
    # so count only processes in the host's network namespace). "-c import" is
    # the interpreter's command line, not that of the launcher shell around it.
    for host in ("h1", "h2", "h3"):
        agents = hostnet_lab.host_exec(
            host, ["sh", "-c", "pgrep --ns $$ --nslist net -f 'c [i]mport sys, os, json'"]
        )
        assert len(agents.stdout.split()) == 1, agents.stdout


def test_pinned_key_of_another_host_is_a_mismatch(lab: LabInfo) -> None:
    wrong = _host_key(lab, lab.hosts["h2"])
    with pytest.raises(errors.HostKeyMismatch):
        transport.agent_for(_conn(lab, "h1", known_hosts=None, host_key=wrong))


def test_unknown_host_key_is_refused_unless_trust_on_first_use(lab: LabInfo) -> None:
    with pytest.raises(errors.HostKeyUnknown):
        transport.agent_for(_conn(lab, "h3", known_hosts=None))
    agent = transport.agent_for(_conn(lab, "h3", known_hosts=None, trust_on_first_use=True))
    assert agent.call("ping") == {"pong": True}


def test_wrong_user_key_fails_auth(lab: LabInfo, tmp_path: Path) -> None:
    key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with pytest.raises(errors.AuthFailed):
        transport.agent_for(_conn(lab, "h1", key_file=str(key)))
    with pytest.raises(errors.AuthFailed):
        transport.agent_for(_conn(lab, "h1", key_file=None, private_key=key.read_text()))


def test_unreachable_address_and_closed_port(lab: LabInfo) -> None:
    with pytest.raises(errors.Unreachable):
        transport.agent_for(_conn(lab, "h1", port=2222))
    with pytest.raises(errors.Unreachable):
        transport.agent_for(_conn(lab, "h1", address="10.32.171.99", connect_timeout=2.0))


def test_missing_or_old_python_is_named(lab: LabInfo) -> None:
    with pytest.raises(errors.NoSuitablePython, match=r"python3\.7"):
        transport.agent_for(_conn(lab, "h2", python="python3.7"))
    # An interpreter that reports 3.5, as an older distribution's python3 would.
    fake = "/run/hostnet-test-python35"
    script = (
        '#!/bin/sh\nwhile [ "$1" != -c ]; do shift; done\nexec /usr/bin/python3 -c '
        '\'import sys; code = sys.argv[1]; sys.version_info = (3, 5, 10, "final", 0); '
        'exec(compile(code, "<boot>", "exec"))\' "$2"\n'
    )
    hostnet_lab.host_exec("h2", ["sh", "-c", f"cat > {fake} && chmod 755 {fake}"], input=script)
    try:
        with pytest.raises(errors.NoSuitablePython, match=r"Python 3\.5\.10, older than 3\.6"):
            transport.agent_for(_conn(lab, "h2", python=fake))
    finally:
        hostnet_lab.host_exec("h2", ["rm", "-f", fake])


def test_no_secret_in_errors(lab: LabInfo, tmp_path: Path) -> None:
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    secret = key.read_text()
    with pytest.raises(errors.AuthFailed) as info:
        transport.agent_for(_conn(lab, "h1", key_file=None, private_key=secret))
    body = secret.splitlines()[1]
    assert body not in str(info.value) and body not in repr(_conn(lab, private_key=secret))


def test_agent_without_root_is_not_root(lab: LabInfo) -> None:
    # The login is root, but the interpreter drops to nobody, as an unprivileged
    # login would: the agent must refuse before doing anything.
    wrapper = "/run/hostnet-test-python-nobody"
    script = (
        '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$@"\n'
    )
    hostnet_lab.host_exec(
        "h3", ["sh", "-c", f"cat > {wrapper} && chmod 755 {wrapper}"], input=script
    )
    try:
        with pytest.raises(errors.NotRoot, match="uid 65534"):
            transport.agent_for(_conn(lab, "h3", python=wrapper))
    finally:
        hostnet_lab.host_exec("h3", ["rm", "-f", wrapper])


def test_sudo_runs_the_agent_or_says_why_not(lab: LabInfo) -> None:
    have_sudo = hostnet_lab.host_exec("h3", ["sh", "-c", "command -v sudo"]).returncode == 0
    conn = _conn(lab, "h3", sudo=True)
    if have_sudo:
        assert transport.agent_for(conn).call("ping") == {"pong": True}
    else:
        with pytest.raises(errors.NotRoot, match="sudo"):
            transport.agent_for(conn)


def test_an_op_past_its_time_limit_is_a_timeout(lab: LabInfo) -> None:
    agent = transport.agent_for(_conn(lab, "h1"))
    # 10.32.171.99 answers nothing: the ping waits 3 s, the request allows 0.5 s.
    slow = Op(op="probe", args={"kind": "ping", "address": "10.32.171.99", "timeout": 3})
    with pytest.raises(errors.Timeout):
        agent.batch([slow], timeout=0.5)
    assert agent.call("ping") == {"pong": True}


def test_bastion_reaches_a_host_through_another(lab: LabInfo) -> None:
    jump = _conn(lab, "h1")
    conn = _conn(lab, "h2", bastion=jump)
    agent = transport.agent_for(conn)
    assert agent.info["hostname"] == "h2" and agent.call("ping") == {"pong": True}
    # The session to h2 rides h1: h2 sees it coming from h1's address.
    peers = hostnet_lab.host_exec(
        "h2", ["ss", "-Htn", "state", "established", "( sport = :22 )"]
    ).stdout
    assert lab.hosts["h1"] in peers, peers


def test_a_dead_agent_is_replaced_on_next_use(lab: LabInfo) -> None:
    conn = _conn(lab, "h3")
    first = transport.agent_for(conn)
    assert first.call("ping") == {"pong": True}
    killed = hostnet_lab.host_exec(
        "h3", ["sh", "-c", "pkill --ns $$ --nslist net -f '[i]mport sys, os, json'"]
    )
    assert killed.returncode == 0
    with pytest.raises(errors.AgentLost):
        for _ in range(50):  # the reader notices the channel closing
            first.call("ping")
    second = transport.agent_for(conn)
    assert second is not first and second.call("ping") == {"pong": True}
