"""The walking skeleton: bridge0 on h1 through the real CLI, engine and SSH."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e import hoststate
from tests.e2e.conftest import close_stack, open_stack

pytestmark = pytest.mark.e2e


def test_skeleton_lifecycle(pulumi_env: dict[str, str], tmp_path: Path) -> None:
    before = hoststate.snapshot("h1")
    assert "bridge0" not in hoststate.links("h1")
    stack = open_stack("skeleton", env=pulumi_env, tmp_path=tmp_path)
    try:
        stack.pulumi("preview")
        assert not hoststate.differences({"h1": before}, {"h1": hoststate.snapshot("h1")})

        stack.up()
        bridge0 = hoststate.links("h1")["bridge0"]
        assert bridge0["linkinfo"]["info_kind"] == "bridge"
        assert "UP" in bridge0["flags"]
        # The mark names the stack, the resource and its instance token.
        assert re.fullmatch(
            r"hostnet:hostnet-skeleton/lab/h1-bridge0#[0-9a-f]{12}", bridge0["ifalias"]
        )
        addresses = [(a, p) for _, a, p in hoststate.snapshot("h1")["addresses"] if _ == "bridge0"]
        assert addresses == [("192.168.5.1", 24)]

        stack.up("--expect-no-changes")
        stack.pulumi("refresh", "--yes", "--expect-no-changes")

        stack.pulumi("destroy", "--yes", "--skip-preview")
        assert not hoststate.differences({"h1": before}, {"h1": hoststate.snapshot("h1")})
    finally:
        close_stack(stack)
