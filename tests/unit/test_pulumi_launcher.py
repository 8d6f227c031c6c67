"""The Pulumi language host launcher (tools/pulumi_language_python.py): its rules,
and its gRPC service started from the checkout's venv. The real CLI driving it is in
tests/integration/test_pulumi_cli.py."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

from tests.launcher import LAUNCHER, lh


def _run_request(**options: str) -> language_pb2.RunRequest:
    req = language_pb2.RunRequest(
        project="p",
        stack="dev",
        pwd="/src/p",
        dryRun=True,
        parallel=4,
        monitor_address="127.0.0.1:5",
        organization="organization",
        config={"p:text": "hi"},
        configSecretKeys=["p:token"],
        args=["extra"],
    )
    req.info.root_directory = "/src/p"
    req.info.program_directory = "/src/p"
    req.info.entry_point = "."
    req.info.options.update(options)
    return req


def test_virtualenv_resolves_against_project_root() -> None:
    assert lh.virtualenv_dir(root="/src/p", options={"virtualenv": "venv"}) == Path("/src/p/venv")
    assert lh.virtualenv_dir(root="/src/p", options={"virtualenv": "/opt/v"}) == Path("/opt/v")
    assert lh.virtualenv_dir(root="/src/p", options={}) is None
    with pytest.raises(ValueError, match="must be a string"):
        lh.virtualenv_dir(root="/src/p", options={"virtualenv": 3.0})


def test_virtualenv_option_read_from_program_info() -> None:
    info = _run_request(virtualenv="venv").info
    assert lh.virtualenv_dir(root=info.root_directory, options=lh._options(info)) == Path(
        "/src/p/venv"
    )


def test_python_command_prefers_venv_then_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert lh.python_command(venv=Path("/v")) == "/v/bin/python"
    monkeypatch.setenv("PULUMI_PYTHON_CMD", sys.executable)
    assert lh.python_command(venv=None) == sys.executable
    monkeypatch.setenv("PULUMI_PYTHON_CMD", str(tmp_path / "no-such-python"))
    with pytest.raises(FileNotFoundError, match="PULUMI_PYTHON_CMD"):
        lh.python_command(venv=None)


def test_check_virtualenv_explains_missing_and_broken(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="doesn't exist"):
        lh.check_virtualenv(option="venv", venv=tmp_path / "venv")
    (tmp_path / "venv").mkdir()
    with pytest.raises(FileNotFoundError, match="doesn't appear to be a virtual environment"):
        lh.check_virtualenv(option="venv", venv=tmp_path / "venv")
    lh.check_virtualenv(option="venv", venv=Path(sys.prefix))


def test_exec_arguments_match_the_go_host() -> None:
    assert lh.exec_arguments(req=_run_request(), engine="127.0.0.1:9") == [
        *("--monitor", "127.0.0.1:5", "--engine", "127.0.0.1:9", "--project", "p"),
        *("--root_directory", "/src/p", "--stack", "dev", "--pwd", "/src/p"),
        *("--dry_run", "true", "--parallel", "4", "--organization", "organization"),
        ".",
        "extra",
    ]


def test_program_env_activates_venv_and_passes_config() -> None:
    base = {"PATH": "/usr/bin", "PYTHONHOME": "/x", "PULUMI_CONFIG": "stale"}
    env = lh.program_env(base=base, venv=Path("/v"), req=_run_request())
    assert env["PATH"] == "/v/bin:/usr/bin"
    assert env["VIRTUAL_ENV"] == "/v"
    assert "PYTHONHOME" not in env
    assert env["PULUMI_CONFIG"] == '{"p:text": "hi"}'
    assert env["PULUMI_CONFIG_SECRET_KEYS"] == '["p:token"]'


def test_arguments_follow_the_cli_convention() -> None:
    assert lh.parse_args(["-v=9", "--tracing", "t:1", "127.0.0.1:7"]) == ("127.0.0.1:7", None)
    assert lh.parse_args(["-use-executor", "/x/exec", "h:1"]) == ("h:1", Path("/x/exec"))
    assert lh.parse_args([]) == ("", None)


def test_exit_codes_map_to_run_response() -> None:
    assert lh.exit_result(0) == ("", False)
    assert lh.exit_result(32) == ("", True)
    assert lh.exit_result(1) == ("program exited with non-zero exit code: 1", False)
    assert lh.exit_result(-9) == ("program exited unexpectedly: signal 9", False)


@pytest.fixture
def served_launcher(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], grpc.Channel]]:
    # These RPCs never start the executor, so any path will do.
    argv = [str(LAUNCHER), "-use-executor", str(tmp_path / "exec"), "127.0.0.1:1"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield proc, channel
    finally:
        channel.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_launcher_serves_language_runtime(
    served_launcher: tuple[subprocess.Popen[str], grpc.Channel], tmp_path: Path
) -> None:
    proc, channel = served_launcher
    stub = language_pb2_grpc.LanguageRuntimeStub(channel)
    assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=10).version
    packages = stub.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(), timeout=10)
    assert list(packages.packages) == []
    missing = stub.Run(_run_request(virtualenv=str(tmp_path / "absent")), timeout=10)
    assert "doesn't exist" in missing.error
    assert not missing.bail
    with pytest.raises(grpc.RpcError) as raised:
        stub.Pack(language_pb2.PackRequest(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
