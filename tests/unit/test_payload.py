"""The agent's payload: what the bootstrap receives and imports from memory."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hostnet.payload import BOOTSTRAP, build_payload

LOCAL = (sys.version_info[0], sys.version_info[1])


def _names(payload: bytes) -> set[str]:
    return set(zipfile.ZipFile(io.BytesIO(payload)).namelist())


def test_same_python_gets_bytecode_other_pythons_get_sources() -> None:
    compiled = _names(build_payload(LOCAL))
    assert "hostnet_agent/main.pyc" in compiled and "pyroute2/__init__.pyc" in compiled
    assert not any(name.endswith(".py") for name in compiled)
    sources = _names(build_payload((3, 9)))
    assert "hostnet_agent/main.py" in sources and "pyroute2/__init__.py" in sources


@pytest.mark.parametrize("version", [LOCAL, (3, 9)])
def test_agent_imports_from_the_zip_alone(tmp_path: Path, version: tuple[int, int]) -> None:
    archive = tmp_path / "agent.zip"
    archive.write_bytes(build_payload(version))
    # -I -S: no site-packages, so pyroute2 and the agent can only come from the zip.
    code = (
        f"import sys; sys.path.insert(0, {str(archive)!r}); "
        "import hostnet_agent.ops, pyroute2; print(pyroute2.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(archive))


def test_bootstrap_refuses_an_old_python_before_reading_anything() -> None:
    code = f"import sys; sys.version_info = (3, 8, 10, 'final', 0); exec({BOOTSTRAP!r})"
    done = subprocess.run(
        [sys.executable, "-c", code], input=b"", capture_output=True, check=False, timeout=30
    )
    assert done.returncode == 3
    assert b'"error": "NoSuitablePython"' in done.stdout and b"3.8.10" in done.stdout
