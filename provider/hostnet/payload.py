"""What the controller sends to a host to start its agent: a bootstrap and a zip.

The bootstrap is a constant program passed to ``python3 -c``. It checks the
interpreter and the user, says hello with the remote Python version, then reads
a zip (the agent package and pyroute2) from stdin into a memfd and imports the
agent from it. Nothing is installed or written to the host's disks.

When the remote CPython has the same minor version as the controller, the zip
holds bytecode instead of sources: importing pyroute2 from sources costs about
0.4 s per agent start, from bytecode about 0.15 s.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import marshal
import os
import sys
import zipfile
from pathlib import Path

# Kept to syntax every python3 parses, so an old interpreter can say what it is.
BOOTSTRAP = """\
import sys, os, json
def say(d):
    sys.stdout.write(json.dumps(d) + "\\n"); sys.stdout.flush()
v = tuple(sys.version_info[:3])
if v < (3, 9):
    say({"error": "NoSuitablePython", "python": "%d.%d.%d" % v}); sys.exit(3)
if os.geteuid() != 0:
    say({"error": "NotRoot", "uid": os.geteuid()}); sys.exit(4)
say({"hello": 1, "python": list(v)})
b = sys.stdin.buffer
n = int(b.readline())
fd = os.memfd_create("hostnet-agent")
data = b.read(n)
while data:
    data = data[os.write(fd, data):]
sys.path.insert(0, "/proc/self/fd/%d" % fd)
from hostnet_agent.main import main
main()
"""

_AGENT_DIR = Path(__file__).resolve().parent / "agent"
_CACHE: dict[tuple[int, int] | None, bytes] = {}


def _pyroute2_dir() -> Path:
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyroute2 is not installed on the controller")
    return Path(next(iter(spec.submodule_search_locations)))


def _sources() -> list[tuple[str, Path]]:
    """(name in zip, file) for every module the agent needs, in a stable order."""
    files = [(f"hostnet_agent/{p.name}", p) for p in sorted(_AGENT_DIR.glob("*.py"))]
    root = _pyroute2_dir()
    files += [
        (f"pyroute2/{p.relative_to(root).as_posix()}", p)
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    ]
    return files


def _pyc(source: bytes, name: str) -> bytes:
    code = compile(source, name, "exec", dont_inherit=True)
    # Timestamp flag with zero mtime: zipimport only compares it with a source
    # file in the same zip, and a bytecode zip carries none.
    return importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code)


def _cache_path(version: tuple[int, int] | None, digest: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hostnet"
    tag = "src" if version is None else f"cp{version[0]}{version[1]}"
    return base / f"agent-{digest[:16]}-{tag}.zip"


def build_payload(remote_python: tuple[int, int]) -> bytes:
    """The zip for a host whose python3 has this (major, minor) version."""
    local = (sys.version_info[0], sys.version_info[1])
    version = local if remote_python == local else None
    if version in _CACHE:
        return _CACHE[version]
    sources = _sources()
    digest = hashlib.sha256()
    for name, path in sources:
        digest.update(name.encode() + b"\0" + path.read_bytes())
    cached = _cache_path(version, digest.hexdigest())
    if cached.is_file():
        _CACHE[version] = cached.read_bytes()
        return _CACHE[version]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, path in sources:
            info = zipfile.ZipInfo(name if version is None else name + "c", (1980, 1, 1, 0, 0, 0))
            data = path.read_bytes()
            archive.writestr(info, data if version is None else _pyc(data, name))
    payload = buffer.getvalue()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(payload)
        tmp.replace(cached)
    except OSError:
        pass  # the cache only saves start-up time
    _CACHE[version] = payload
    return payload
