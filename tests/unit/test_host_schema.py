"""One Host schema: hn.Host, check, the transport's Connection and hostnet verify
read the same settings, the bastion included."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

import pulumi_hostnet as hn
from hostnet import hosts, transport, verify


def test_hn_host_exposes_every_setting_of_the_schema_and_the_key() -> None:
    names = [f.name for f in dataclasses.fields(hn.Host)]
    assert set(names) == set(hosts.NAMES) | {"private_key"}
    defaults = {f.name: f.default for f in dataclasses.fields(hn.Host)}
    for field in hosts.FIELDS:
        if field.name not in ("name", "address"):
            assert defaults[field.name] == field.default, field.name


def test_the_connection_carries_every_transport_setting() -> None:
    conn_fields = {f.name for f in dataclasses.fields(transport.Connection)}
    assert conn_fields == (set(hosts.NAMES) - {"name"}) | {"private_key"}


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def test_a_bastion_set_on_hn_host_reaches_the_connection(key_file: Path) -> None:
    jump = hn.Host(
        address="10.32.171.250", user="jump", key_file=str(key_file), trust_on_first_use=True
    )
    host = hn.Host(
        name="h1",
        address="10.32.171.202",
        key_file=str(key_file),
        host_key="ssh-ed25519 " + key_file.with_suffix(".pub").read_text().split()[1],
        request_timeout=30,
        bastion=jump,
    )
    settings = host.settings()
    checked, failures = hosts.check_host(settings)
    assert failures == []
    conn = hosts.connection_from({"host": checked})
    assert conn.bastion is not None
    assert (conn.bastion.address, conn.bastion.user) == ("10.32.171.250", "jump")
    assert conn.bastion.trust_on_first_use is True
    assert conn.request_timeout == 30.0 and conn.address == "10.32.171.202"


def test_verify_reads_connections_through_the_same_check(key_file: Path) -> None:
    settings = {"address": "10.32.171.202", "key_file": str(key_file), "port": 70000}
    with pytest.raises(Exception) as failed:
        verify.connection_for(settings, name="h1")
    assert "host.port" in str(failed.value) and "outside 1..65535" in str(failed.value)


def _verify(tmp_path: Path, outputs: dict[str, object]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    hostnet = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hostnet"
    return subprocess.run(
        [str(hostnet), "verify", "--outputs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_verify_without_a_matrix_says_there_is_nothing_to_verify(tmp_path: Path) -> None:
    done = _verify(tmp_path, {"connections": {}})
    assert done.returncode == verify.NOTHING_TO_VERIFY
    assert "FAIL" not in done.stdout + done.stderr
    assert "exports no 'hostnet:claims'" in done.stderr


def test_verify_of_an_empty_matrix_passes_and_says_so(tmp_path: Path) -> None:
    done = _verify(tmp_path, {"matrix": [], "connections": {}})
    assert done.returncode == 0
    assert "claims nothing" in done.stdout and "FAIL" not in done.stdout
