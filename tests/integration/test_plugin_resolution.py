"""Which resource plugins a stock Pulumi looks for when hostnet is installed.

Pulumi's Python language host lists the distributions of the program's Python
(``pip list -v``) and takes each one named ``pulumi-*`` or carrying a
``pulumi-plugin.json`` to need a resource plugin, unless that file says
``"resource": false``. The stand-in language host applies the same rules, so
these tests run them against a fresh virtualenv holding the built wheel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pulumi.runtime.proto import language_pb2

from tests.launcher import REPO, fake_distribution, lh


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("provider", "sdk"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        # No build isolation: the venv's setuptools builds it, and no index is asked
        # (the lab's tests may already run in the lab's namespace, which has no route out).
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"),
            *("-w", str(out), str(src)),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh virtualenv with the wheel (no dependencies) and three fake packages."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    python = root / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    (site,) = (root / "lib").glob("python3*/site-packages")
    fake_distribution(site, "pulumi-foo", "1.2.3", None)
    fake_distribution(site, "pulumi-bar", "2.0.0", {"resource": True, "name": "baz"})
    fake_distribution(site, "pulumi-quiet", "1.0.0", {"resource": False})
    return root


def test_the_wheel_ships_pulumi_plugin_json_saying_no_plugin(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        data = json.loads(archive.read("pulumi_hostnet/pulumi-plugin.json"))
    assert data == {"resource": False}


def test_the_wheel_holds_the_engine_and_sdk_but_not_the_lab(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        packages = {name.split("/")[0] for name in archive.namelist()}
    assert {"hostnet", "pulumi_hostnet"} <= packages
    assert not any(name.startswith("hostnet_lab") for name in packages)


def test_fresh_venv_requires_only_the_plugins_its_packages_call_for(venv: Path) -> None:
    found = lh.required_packages(str(venv / "bin" / "python"))
    assert sorted(found, key=lambda d: d["name"]) == [
        {"name": "baz", "version": "v2.0.0", "kind": "resource", "server": ""},
        {"name": "foo", "version": "v1.2.3", "kind": "resource", "server": ""},
    ]


def test_the_language_host_answers_both_calls_from_the_project_venv(venv: Path) -> None:
    host = lh.LanguageHost(engine="", exec_path=Path("/nonexistent"))
    info = language_pb2.ProgramInfo(root_directory="/", program_directory="/", entry_point=".")
    info.options.update({"virtualenv": str(venv)})
    packages = host.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(info=info), None)
    plugins = host.GetRequiredPlugins(language_pb2.GetRequiredPluginsRequest(info=info), None)
    assert sorted(p.name for p in packages.packages) == ["baz", "foo"]
    assert sorted(p.name for p in plugins.plugins) == ["baz", "foo"]
    assert all(p.kind == "resource" for p in packages.packages)
