"""Which resource plugins a stock Pulumi looks for, by the stand-in language host's
rules: the checkout's editable install asks for none, and versions convert as
Pulumi's do. The built wheel in a fresh virtualenv: tests/integration."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest

from tests.launcher import REPO, fake_distribution, lh


def test_the_editable_install_carries_the_same_file() -> None:
    text = importlib.resources.files("pulumi_hostnet").joinpath("pulumi-plugin.json").read_text()
    assert json.loads(text) == {"resource": False}


def test_the_checkouts_own_editable_venv_requires_no_hostnet_plugin() -> None:
    found = lh.required_packages(str(REPO / ".venv" / "bin" / "python"))
    assert [d for d in found if "hostnet" in d["name"]] == []


def test_the_old_distribution_name_would_send_pulumi_looking_for_a_plugin(tmp_path: Path) -> None:
    # pulumi-hostnet (the name before) without the file: what a stock Pulumi tried to download.
    fake_distribution(tmp_path, "pulumi-hostnet", "0.1.0", None)
    package = {"name": "pulumi-hostnet", "version": "0.1.0", "location": str(tmp_path)}
    assert lh.package_dependency(package) == {
        "name": "hostnet",
        "version": "v0.1.0",
        "kind": "resource",
        "server": "",
    }


@pytest.mark.parametrize(
    ("version", "semver"),
    [
        ("1.0", "1.0.0"),
        ("3.272.0", "3.272.0"),
        ("1.2.3a4", "1.2.3-alpha.4"),
        ("1.2.3b4", "1.2.3-beta.4"),
        ("1.2.3rc4", "1.2.3-rc.4"),
        ("1.2.3.post4", "1.2.3+post4"),
        ("1.2.3.dev5", "1.2.3+dev5"),
        ("1.2.3.post4.dev5", "1.2.3+post4dev5"),
        ("1!2.0", None),
        ("1.2.3+local", None),
    ],
)
def test_plugin_versions_follow_pulumis_conversion(version: str, semver: str | None) -> None:
    assert lh.plugin_version(version) == semver
