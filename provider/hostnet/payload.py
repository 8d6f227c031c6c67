"""What the controller sends to a host to start its agent: a launcher, a bootstrap and a zip.

The launcher is a POSIX sh program run over the SSH exec channel. It tries the
interpreters it is given in order (``python3``, ``/usr/libexec/platform-python``,
``python3.N`` newest first, ``python`` when the Host names none) and runs the
bootstrap with the first that is 3.6 or newer, saying on the way what each one
it passed over answered.

The bootstrap is a constant program passed to ``python -c``, in syntax every
Python (2.7 included) parses, so an old interpreter can say what it is. It
checks the interpreter and the user, says hello with the remote Python version,
then reads a zip (the agent package, pyroute2 and, for 3.6, the dataclasses
backport) from stdin into memory and imports the agent from it through a path
hook of its own, inflating each module as it is imported: nothing is written to
the host's disks and no memfd is needed.

The zip is chosen per interpreter: pyroute2 0.9 needs Python 3.9, so 3.6-3.8
get pyroute2 0.8.1 from the wheel cache that ``make setup`` fills
(``scripts/install-wheels.sh``). For 3.6 the agent's sources are rewritten with
their annotations turned into strings, because ``from __future__ import
annotations`` does not exist there. When the remote CPython has the same minor
version as the controller the zip holds bytecode: importing pyroute2 from
sources costs about 0.4 s, from bytecode about 0.15 s. The zip's pyroute2
package (0.9 and 0.8.1 alike) imports only its version at first, so an agent
imports the rest only when a request needs it (vxlan FDB entries): a 3.6 host's
agent started 0.26-0.31 s sooner.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import io
import marshal
import os
import shlex
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

MIN_PYTHON = (3, 6)
# Tried in this order when the Host names no interpreter.
DISCOVERY = (
    "python3",
    "/usr/libexec/platform-python",
    *(f"python3.{minor}" for minor in range(13, 5, -1)),
    "python",
)
# Wheels for interpreters older than the controller's pyroute2 supports.
OLD_PYROUTE2 = "0.8.1"
OLD_WHEELS = (f"pyroute2=={OLD_PYROUTE2}", "dataclasses==0.8")
_NEW_PYROUTE2_FROM = (3, 9)

BOOTSTRAP = """\
import sys, os, json
def say(d):
    sys.stdout.write(json.dumps(d) + "\\n"); sys.stdout.flush()
v = tuple(sys.version_info[:3])
name = sys.argv[1] if len(sys.argv) > 1 else sys.executable
if v < (3, 6):
    say({"error": "NoSuitablePython", "python": "%d.%d.%d" % v, "tried": name}); sys.exit(3)
if os.geteuid() != 0:
    say({"error": "NotRoot", "uid": os.geteuid()}); sys.exit(4)
say({"hello": 1, "python": list(v), "interpreter": name})
import io, zipfile, marshal, importlib.machinery
b = sys.stdin.buffer
z = zipfile.ZipFile(io.BytesIO(b.read(int(b.readline()))))
F = dict((i.filename, i) for i in z.infolist())
R = "<hostnet>"
class Finder(object):
    def __init__(self, path):
        if not path.startswith(R):
            raise ImportError(path)
        self.dir = path[len(R):].strip("/")
    def find_spec(self, fullname, target=None):
        base = (self.dir + "/" if self.dir else "") + fullname.rpartition(".")[2]
        for key in (base + "/__init__.pyc", base + "/__init__.py", base + ".pyc", base + ".py"):
            if key in F:
                pkg = "/__init__." in key
                spec = importlib.machinery.ModuleSpec(fullname, self, origin=R + "/" + key,
                                                      is_package=pkg)
                spec.has_location = True
                if pkg:
                    spec.submodule_search_locations = [R + "/" + base]
                return spec
        return None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        origin = module.__spec__.origin
        data = z.read(F[origin[len(R) + 1:]])
        if origin.endswith("c"):
            code = marshal.loads(data[16:])
        else:
            code = compile(data, origin, "exec", dont_inherit=True)
        exec(code, module.__dict__)
    def iter_modules(self, prefix=""):
        top = self.dir + "/" if self.dir else ""
        seen = set()
        for key in sorted(F):
            if not key.startswith(top):
                continue
            head, sep, tail = key[len(top):].partition("/")
            pkg = bool(sep)
            mod = head if pkg else head.rpartition(".")[0]
            if (tail.startswith("__init__.") or not pkg) and mod != "__init__" and mod not in seen:
                seen.add(mod)
                yield prefix + mod, pkg
    def invalidate_caches(self):
        pass
sys.path_hooks.insert(0, Finder)
sys.path.insert(0, R)
from hostnet_agent.main import main
main()
"""

# Runs under /bin/sh: $1 is the bootstrap, the rest are interpreters to try.
# Exit 3 from the bootstrap means "too old, try the next"; 126/127 that the
# name is there but cannot run. Any other status is the agent's own.
# -S -E (2.7 takes them too): the agent needs nothing from the interpreter's
# site-packages or PYTHON* variables, and a host's .pth files and sitecustomize
# neither slow its start (10 ms of 36 on a bare 3.11) nor change what it runs.
INTERPRETER_FLAGS = ("-S", "-E", "-u")
_LAUNCHER = """\
b=$1; shift
for p in "$@"; do
  if command -v "$p" >/dev/null 2>&1; then
    "$p" FLAGS -c "$b" "$p"
    rc=$?
    case $rc in
      3) ;;
      126|127) printf '{"tried": "%s", "answer": "cannot be run (exit %s)"}\\n' "$p" "$rc" ;;
      *) exit $rc ;;
    esac
  else
    printf '{"tried": "%s", "answer": "not found"}\\n' "$p"
  fi
done
printf '{"error": "NoSuitablePython"}\\n'
exit 3
""".replace("FLAGS", " ".join(INTERPRETER_FLAGS))

# pyroute2's __init__ imports every public class of the library (NDB, IPDB,
# conntrack, nftables, asyncio...): about 60 % of an agent's start-up CPU on the
# host. The payload's __init__ imports what the agent names from the top level;
# any other name is looked up in the original __init__, shipped as _everything.
# Python 3.6 has no module __getattr__; there the agent's paths reach pyroute2
# only through submodules (pyroute2.iproute, pyroute2.netns), as do pyroute2's
# own modules on them (`from pyroute2 import config`).
_PYROUTE2_INIT = b"""\
# hostnet's payload: pyroute2's package without its eager imports (see hostnet.payload).
try:
    from pyroute2.config.version import __version__
except ImportError:
    __version__ = "unknown"

_WHERE = {"IPRoute": "pyroute2.iproute", "NetlinkError": "pyroute2.netlink.exceptions"}


def __getattr__(name):
    # pyroute2's own modules take submodules from the package ("from pyroute2
    # import netns"): those are imported as such, the rest from where it lives.
    if name.startswith("__") or name == "_everything":
        raise AttributeError(name)
    import importlib

    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    try:
        return importlib.import_module("pyroute2." + name)
    except ImportError as exc:
        if getattr(exc, "name", None) != "pyroute2." + name:
            raise
    return getattr(importlib.import_module("pyroute2._everything"), name)
"""

_AGENT_DIR = Path(__file__).resolve().parent / "agent"
_CACHE: dict[str, bytes] = {}


class PayloadError(RuntimeError):
    """The controller lacks what a host's interpreter needs (the message says how to get it)."""


def launcher(python: str | None) -> str:
    """The shell command that starts the agent with ``python``, or the first suitable one."""
    candidates = (python,) if python else DISCOVERY
    words = ["/bin/sh", "-c", _LAUNCHER, "hostnet", BOOTSTRAP, *candidates]
    return " ".join(shlex.quote(word) for word in words)


def wheel_dir() -> Path:
    """Where ``make setup`` puts the wheels for old interpreters."""
    forced = os.environ.get("HOSTNET_WHEEL_DIR")
    if forced:
        return Path(forced)
    return _cache_base() / "wheels"


def _cache_base() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hostnet"


def _installed_pyroute2() -> Path:
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise PayloadError("pyroute2 is not installed on the controller")
    return Path(next(iter(spec.submodule_search_locations)))


def _wheel(requirement: str) -> Path:
    name, _, version = requirement.partition("==")
    path = wheel_dir() / f"{name}-{version}-py3-none-any.whl"
    if not path.is_file():
        raise PayloadError(
            f"{path} is missing; hosts on Python 3.6-3.8 need it: run `make setup` "
            f"(or `pip download --no-deps --only-binary=:all: --python-version 3.6 "
            f"-d {wheel_dir()} {' '.join(OLD_WHEELS)}`)"
        )
    return path


def _wheel_files(requirement: str, top: str) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(_wheel(requirement)) as wheel:
        for name in sorted(wheel.namelist()):
            if name.endswith(".py") and (name == top + ".py" or name.startswith(top + "/")):
                yield name, wheel.read(name)


def _agent_files() -> Iterator[tuple[str, bytes]]:
    for path in sorted(_AGENT_DIR.glob("*.py")):
        yield f"hostnet_agent/{path.name}", path.read_bytes()


def _installed_files() -> Iterator[tuple[str, bytes]]:
    root = _installed_pyroute2()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield f"pyroute2/{path.relative_to(root).as_posix()}", path.read_bytes()


def _lazy_top(files: Iterator[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    """pyroute2 with the payload's own top level; the original as _everything."""
    for name, data in files:
        if name == "pyroute2/__init__.py":
            yield "pyroute2/_everything.py", data
            yield name, _PYROUTE2_INIT
        else:
            yield name, data


def flavour(remote: tuple[int, int]) -> str:
    """The payload kind a (major, minor) interpreter gets; one zip per kind."""
    local = (sys.version_info[0], sys.version_info[1])
    if remote < MIN_PYTHON:
        raise PayloadError(f"Python {remote[0]}.{remote[1]} is older than 3.6")
    if remote == local:
        return f"cp{local[0]}{local[1]}"
    if remote >= _NEW_PYROUTE2_FROM:
        return "src"
    return "src-py36" if remote == (3, 6) else "src-py37"


def _files(kind: str) -> list[tuple[str, bytes]]:
    files = list(_agent_files())
    if kind in ("src-py36", "src-py37"):
        files += _lazy_top(_wheel_files(OLD_WHEELS[0], "pyroute2"))
    else:
        files += _lazy_top(_installed_files())
    if kind == "src-py36":
        files = [
            (name, strip_annotations(data) if name.startswith("hostnet_agent/") else data)
            for name, data in files
        ]
        files += _wheel_files(OLD_WHEELS[1], "dataclasses")
    return files


def build_payload(remote_python: tuple[int, int]) -> bytes:
    """The zip for a host whose interpreter has this (major, minor) version."""
    kind = flavour(remote_python)
    if kind in _CACHE:
        return _CACHE[kind]
    files = _files(kind)
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode() + b"\0" + data)
    cached = _cache_base() / f"agent-{digest.hexdigest()[:16]}-{kind}.zip"
    if cached.is_file():
        _CACHE[kind] = cached.read_bytes()
        return _CACHE[kind]
    compiled = kind.startswith("cp")
    buffer = io.BytesIO()
    # Deflated: 40 % of the size, so less to encrypt and send per host; the host
    # inflates only the modules it imports.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name + "c" if compiled else name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, _pyc(data, name) if compiled else data)
    payload = buffer.getvalue()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(payload)
        tmp.replace(cached)
    except OSError:
        pass  # the cache only saves start-up time
    _CACHE[kind] = payload
    return payload


def _pyc(source: bytes, name: str) -> bytes:
    code = compile(source, name, "exec", dont_inherit=True)
    # Timestamp flag with zero mtime: nothing compares it with a source file.
    return importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code)


class _Stringify(ast.NodeTransformer):
    """Annotations become string constants, which every Python 3 accepts unevaluated.

    Dataclass fields keep an annotation (the class needs one to see the field);
    annotations of functions and of plain variables are dropped.
    """

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST | None:
        if node.module == "__future__":
            node.names = [a for a in node.names if a.name != "annotations"]
            return node if node.names else None
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.annotation = None
        return node

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.returns = None
        self.generic_visit(node)
        if not node.body:
            node.body = [ast.Pass()]
        return node

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        body: list[ast.stmt] = []
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                stmt.annotation = ast.Constant(ast.unparse(stmt.annotation))
                body.append(stmt)
            else:
                body.append(self.visit(stmt))
        node.body = body
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if node.value is None:
            return None
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)


def strip_annotations(source: bytes) -> bytes:
    """``source`` without ``from __future__ import annotations`` and without live annotations."""
    tree = _Stringify().visit(ast.parse(source))
    _fill_empty_bodies(tree)
    return ast.unparse(ast.fix_missing_locations(tree)).encode() + b"\n"


def _fill_empty_bodies(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        for attr in ("body", "orelse", "finalbody"):
            block = getattr(node, attr, None)
            if attr == "body" and isinstance(block, list) and not block:
                block.append(ast.Pass())
