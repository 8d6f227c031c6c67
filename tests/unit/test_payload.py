"""The agent's payload: what goes into the zip for each kind of interpreter.

Running it under every Python from 3.6 to 3.13, the bootstrap's refusal of 2.7
and the launcher's interpreter discovery: tests/integration/test_payload_pythons.py.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

from hostnet import payload
from hostnet.payload import build_payload, strip_annotations

LOCAL = (sys.version_info[0], sys.version_info[1])


def _names(payload: bytes) -> set[str]:
    return set(zipfile.ZipFile(io.BytesIO(payload)).namelist())


def test_same_python_gets_bytecode_other_pythons_get_sources() -> None:
    compiled = _names(build_payload(LOCAL))
    assert "hostnet_agent/main.pyc" in compiled and "pyroute2/__init__.pyc" in compiled
    assert not any(name.endswith(".py") for name in compiled)
    other = (3, 13) if LOCAL != (3, 13) else (3, 12)
    sources = _names(build_payload(other))
    assert "hostnet_agent/main.py" in sources and "pyroute2/__init__.py" in sources


def test_stripped_sources_keep_dataclass_fields_and_drop_the_future_import() -> None:
    source = b"""from __future__ import annotations
from dataclasses import dataclass
@dataclass(frozen=True)
class Key:
    dst: str | None
    table: int = 254
def f(x: list[str], *, y: int | None = None) -> dict[str, int]:
    z: list[int] = []
    unset: int
    return {}
"""
    out = strip_annotations(source).decode()
    assert "__future__" not in out and "def f(x, *, y=None):" in out
    assert "dst: 'str | None'" in out and "table: 'int' = 254" in out
    assert "z = []" in out and "unset" not in out


def test_a_missing_wheel_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTNET_WHEEL_DIR", str(tmp_path / "wheels"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(payload, "_CACHE", {})
    with pytest.raises(
        payload.PayloadError, match=r"pyroute2-0\.8\.1-py3-none-any\.whl is missing"
    ):
        build_payload((3, 8))
    with pytest.raises(payload.PayloadError, match=r"run `make setup`"):
        build_payload((3, 6))
