"""The built Pulumi CLI (.tools, `make setup`) runs a dynamic provider stack offline
through the stand-in Python language host."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.launcher import PULUMI_BIN

CLI_MISSING = shutil.which("pulumi", path=str(PULUMI_BIN)) is None

_PROGRAM = """
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Provider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="memo-1", outs={**props, "length": len(props["text"])})


class Memo(Resource):
    def __init__(self, name, text):
        super().__init__(Provider(), name, {"text": text, "length": None})


memo = Memo("memo", pulumi.Config().require("text"))
pulumi.export("length", memo.length)
"""


def test_cli_runs_a_dynamic_provider_stack_offline(tmp_path: Path) -> None:
    if CLI_MISSING:
        pytest.fail("no pulumi CLI in .tools: run scripts/install-pulumi.sh", pytrace=False)
    (tmp_path / "Pulumi.yaml").write_text(
        f"name: toolchain\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n"
    )
    (tmp_path / "__main__.py").write_text(_PROGRAM)
    (tmp_path / "state").mkdir()
    env = {
        **os.environ,
        "PATH": f"{PULUMI_BIN}{os.pathsep}{os.environ['PATH']}",
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_HOME": str(tmp_path / "home"),
        "PULUMI_CONFIG_PASSPHRASE": "hostnet-lab",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }

    def pulumi(*args: str) -> str:
        done = subprocess.run(
            ["pulumi", *args],
            check=False,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    pulumi("stack", "init", "t")
    pulumi("config", "set", "text", "hello")
    pulumi("up", "--yes", "--skip-preview")
    assert pulumi("stack", "output", "length").strip() == "5"
    pulumi("up", "--yes", "--expect-no-changes")
    pulumi("destroy", "--yes")
    pulumi("stack", "rm", "--yes", "t")
