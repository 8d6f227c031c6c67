"""Small JSON records under the run dir, one file per object and namespace.

They hold what a host object cannot carry itself: the owner of a route, the value
a sysctl had before hostnet wrote it. A record lives in
<run dir>/<kind>/<netns label>@<netns inode>/<key>; the inode keeps apart
namespaces that share /run but not their names (hosts of the local lab, a
namespace deleted and made again under the same name). /run ends with the boot,
as do the objects the records describe.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.parse
from typing import Any

from .nsref import OWN_PATH, Netns
from .rundir import ensure_dir, run_dir


def record_path(ns: Netns, *, kind: str, key: str) -> str | None:
    """Where the record for ``key`` in ``ns`` lives; None if the namespace is gone."""
    try:
        inode = os.stat(ns.path or OWN_PATH).st_ino
    except OSError:
        return None
    label = urllib.parse.quote(ns.label, safe="")
    return os.path.join(run_dir(), kind, f"{label}@{inode}", key)


def load(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        with open(path) as f:
            record = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def save(path: str, record: dict[str, Any]) -> None:
    ensure_dir(os.path.dirname(path))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(record, f)
    os.replace(tmp, path)


def remove(path: str | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
