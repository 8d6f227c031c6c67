"""Old lab hosts: another Python for a host, and an old-kernel mode.

A lab host's sshd gives every session ``PATH=/run/hostnet-lab/bin:...`` (its own
/run), so what is in that directory is what hostnet finds first on the host:

- ``--host-python h2=3.6`` puts a ``python3`` there that runs the pyenv
  interpreter of that version (``pyenv prefix 3.6``; nothing is downloaded).
- ``--old-kernel h1`` makes the host answer as CentOS 7 does (kernel 3.10,
  iptables 1.4.21), through a ``python3`` wrapper that preloads a shim the lab
  compiles with ``cc`` from the C below: setsockopt(SOL_NETLINK,
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
from hostnet_lab.plumbing import LabError

BIN_DIR = "/run/hostnet-lab/bin"
SESSION_PATH = f"{BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

OLD_KERNEL_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

/* What a 3.10 kernel answers: netlink_setsockopt() knows neither option. */
int setsockopt(int fd, int level, int name, const void *value, socklen_t length)
{
    static int (*real)(int, int, int, const void *, socklen_t);
    if (level == 270 && (name == 11 || name == 12)) {  /* SOL_NETLINK: EXT_ACK, GET_STRICT_CHK */
        errno = ENOPROTOOPT;
        return -1;
    }
    if (!real)
        real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
    return real(fd, level, name, value, length);
}

/* No memfd_create before 3.17. */
int memfd_create(const char *name, unsigned int flags)
{
    (void)name;
    (void)flags;
    errno = ENOSYS;
    return -1;
}
"""

# iptables-restore 1.4.21 knows no -w/--wait (getopt says so, exit 2) and takes
# no xtables lock; the real tool here would take /run/xtables.lock itself, so it
# is pointed at a lock file of its own.
_OLD_RESTORE = """\
#!/bin/sh
for a in "$@"; do
  case $a in
    -w|--wait|-w*|--wait=*) echo "$(basename "$0"): invalid option -- 'w'" >&2; exit 2 ;;
  esac
done
XTABLES_LOCKFILE=/run/hostnet-lab-restore-1.4.21.lock exec {real} "$@"
"""


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
    digest = hashlib.sha256(OLD_KERNEL_C.encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hostnet" / "lab"
    target = base / f"oldkernel-{digest}.so"
    if target.is_file():
        return target
    base.mkdir(parents=True, exist_ok=True)
    source = base / f"oldkernel-{digest}.{os.getpid()}.c"
    tmp = source.with_suffix(".so")
    source.write_text(OLD_KERNEL_C)
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
    """The files of one host's session bin directory (name -> contents)."""
    files: dict[str, str] = {}
    exe = shlex.quote(str(python or "/usr/bin/python3"))
    if old_kernel:
        preload = shlex.quote(str(shim()))
        files["python3"] = f'#!/bin/sh\nLD_PRELOAD={preload} exec {exe} "$@"\n'
        for mode in ("", "-legacy", "-nft"):
            name = f"iptables{mode}-restore"
            files[name] = _OLD_RESTORE.format(real=shlex.quote(f"/usr/sbin/{name}"))
    elif python is not None:
        files["python3"] = f'#!/bin/sh\nexec {exe} "$@"\n'
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
    script = [f"rm -rf {BIN_DIR}", f"mkdir -p {BIN_DIR}"]
    for name, text in files.items():
        path = shlex.quote(f"{BIN_DIR}/{name}")
        script.append(f"printf %s {shlex.quote(text)} > {path} && chmod 755 {path}")
    done = host_exec(host, ["/bin/sh", "-ec", "\n".join(script)])
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
