"""Where the agent keeps host-local state: the host lock and the sysctl journal.

/run is a tmpfs, so the state ends with the boot, as do the settings it
describes. HOSTNET_RUN_DIR overrides the place (tests, hosts that share /run).
"""

from __future__ import annotations

import contextlib
import os

DEFAULT_RUN_DIR = "/run/hostnet"


def run_dir() -> str:
    return os.environ.get("HOSTNET_RUN_DIR") or DEFAULT_RUN_DIR


def ensure_dir(path: str) -> None:
    """Create ``path`` and any missing parents, each readable by root only."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        ensure_dir(parent)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
