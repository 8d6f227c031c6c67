"""Reading a stack through the pulumi CLI, whatever backend it is logged in to."""

from __future__ import annotations

import json
import subprocess
from typing import Any


def pulumi_json(*args: str, stack: str | None, cwd: str | None, who: str) -> dict[str, Any]:
    """``pulumi ARGS --stack --cwd`` parsed as JSON; a failure ends the command ``who``."""
    argv = ["pulumi", *args]
    argv += ["--stack", stack] if stack else []
    argv += ["--cwd", cwd] if cwd else []
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 -- argv list
    if proc.returncode != 0:
        raise SystemExit(f"{who}: pulumi {' '.join(args[:2])} failed: {proc.stderr.strip()}")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data
