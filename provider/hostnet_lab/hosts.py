"""Old lab hosts: another Python for a host, and an old-kernel mode.

A lab host's sshd gives every session ``PATH=/run/hostnet-lab/bin:...`` (its own
/run), so what is in that directory is what hostnet finds first on the host:

- ``--host-python h2=3.6`` puts a ``python3`` there that runs the pyenv
  interpreter of that version (``pyenv prefix 3.6``; nothing is downloaded).
- ``--old-kernel h1`` makes the host answer as CentOS 7 does (kernel 3.10,
  iptables 1.4.21), through a ``python3`` wrapper that preloads a shim the lab
  compiles with ``cc`` from files/old_kernel.c: setsockopt(SOL_NETLINK,
  NETLINK_EXT_ACK or NETLINK_GET_STRICT_CHK) fails with ENOPROTOOPT (options of
  4.12 and 4.20) and memfd_create (3.17) with ENOSYS. ``iptables-restore``
  wrappers refuse ``-w`` as 1.4.21 does (it came in 1.6.2) and run the real
  tool otherwise. Only the agent's interpreter and its children see the shim;
  sshd and the rest of the host are unchanged.

Settings apply to new sessions at once (no sshd restart); ``lab up`` without
them puts every host back to the machine's python3.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from hostnet_lab.nodes import HOSTS, host_exec
from hostnet_lab.plumbing import LabError, lab_file, script

BIN_DIR = "/run/hostnet-lab/bin"
SESSION_PATH = f"{BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def pyenv_python(version: str) -> Path:
    """The pyenv interpreter for ``3.6`` or ``3.6.15`` (never installs one)."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        raise LabError("--host-python needs pyenv on PATH")
    done = subprocess.run(  # noqa: S603 -- argv list
        [pyenv, "prefix", version], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LabError(
            f"no pyenv interpreter {version}: {done.stderr.strip()} (see `pyenv versions`)"
        )
    major_minor = ".".join(version.split(".")[:2])
    exe = Path(done.stdout.strip()) / "bin" / f"python{major_minor}"
    if not os.access(exe, os.X_OK):
        raise LabError(f"{exe} is not an executable interpreter")
    return exe


def shim() -> Path:
    """The old-kernel shim, compiled once per source into the user's cache."""
    code = lab_file("old_kernel.c")
    digest = hashlib.sha256(code.encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hostnet" / "lab"
    target = base / f"oldkernel-{digest}.so"
    if target.is_file():
        return target
    base.mkdir(parents=True, exist_ok=True)
    source = base / f"oldkernel-{digest}.{os.getpid()}.c"
    tmp = source.with_suffix(".so")
    source.write_text(code)
    try:
        argv = ["cc", "-shared", "-fPIC", "-O2", "-Wall", "-o", str(tmp), str(source), "-ldl"]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise LabError(f"cannot build the old-kernel shim: {done.stderr.strip()[-500:]}")
        tmp.replace(target)
    except FileNotFoundError:
        raise LabError("--old-kernel needs a C compiler (cc)") from None
    finally:
        source.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return target


def bin_files(*, python: Path | None, old_kernel: bool) -> dict[str, str]:
    """The files of one host's session bin directory (name -> contents): a python3
    (scripts/python3.sh) and the settings it reads, and in old-kernel mode the
    iptables-restore wrappers."""
    if python is None and not old_kernel:
        return {}
    settings = [f"interpreter={shlex.quote(str(python or '/usr/bin/python3'))}"]
    if old_kernel:
        settings.append(f"shim={shlex.quote(str(shim()))}")
    files = {"python3": script("python3.sh"), "python3.env": "\n".join(settings) + "\n"}
    if old_kernel:
        restore = script("iptables-restore-1.4.21.sh")
        files.update({f"iptables{mode}-restore": restore for mode in ("", "-legacy", "-nft")})
    return files


def configure(
    *, host_python: Mapping[str, str] | None = None, old_kernel: Iterable[str] = ()
) -> dict[str, dict[str, object]]:
    """Give each lab host its interpreter and mode; hosts not named get the defaults."""
    names = {host.name for host in HOSTS}
    pythons = dict(host_python or {})
    old = set(old_kernel)
    unknown = sorted((set(pythons) | old) - names)
    if unknown:
        raise LabError(
            f"not a lab host: {', '.join(unknown)} (hosts are {', '.join(sorted(names))})"
        )
    # Every interpreter is found before any host is touched.
    chosen = {name: pyenv_python(version) for name, version in sorted(pythons.items())}
    settings: dict[str, dict[str, object]] = {}
    for name in sorted(names):
        python = chosen.get(name)
        _install(name, bin_files(python=python, old_kernel=name in old))
        settings[name] = {"python": str(python) if python else None, "old_kernel": name in old}
    return settings


def _install(host: str, files: Mapping[str, str]) -> None:
    argv = ["/bin/sh", "-c", script("install-bin.sh"), "install-bin.sh", BIN_DIR]
    done = host_exec(host, [*argv, *(item for pair in files.items() for item in pair)])
    if done.returncode != 0:
        raise LabError(f"cannot set up {host}'s interpreter: {done.stderr.strip()}")


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["h2=3.6"]`` -> ``{"h2": "3.6"}`` (the --host-python option)."""
    found: dict[str, str] = {}
    for pair in pairs:
        host, sep, version = pair.partition("=")
        if not sep or not host or not version:
            raise LabError(f"--host-python {pair!r}: expected HOST=VERSION, e.g. h2=3.6")
        found[host] = version
    return found
