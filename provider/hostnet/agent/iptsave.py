"""The iptables tools of a host and what `iptables-save` says.

hostnet uses whichever iptables the host uses: the `iptables` alternative's
variant (nf_tables or legacy) unless only the other variant holds rules,
which is how a host looks when Docker or firewalld picked the other one.
HOSTNET_IPTABLES=nft|legacy overrides the choice.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shlex
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from . import hostcaps
from .context import Context
from .errors import AgentError, Busy, Failed, Invalid, NotFound
from .nsref import Netns
from .owner import MARK_PREFIX
from .select import TABLES, chain_problem

XTABLES_LOCK = "/run/xtables.lock"
BUILTIN = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}


@dataclass(frozen=True)
class Tools:
    mode: str | None
    iptables: str = "iptables"
    save: str = "iptables-save"
    restore: str = "iptables-restore"
    # iptables-restore -w came with iptables 1.6.2; 1.4.21 (CentOS 7) refuses it.
    restore_wait: bool = True


@dataclass(frozen=True)
class Rule:
    """One `-A` line: its chain, tokens after the chain, hostnet owner, 1-based position."""

    chain: str
    tokens: list[str]
    owner: str | None
    position: int
    priority: int | None = None

    @property
    def spec(self) -> list[str]:
        """The tokens without hostnet's comment match."""
        return strip_comment(self.tokens)


@dataclass
class Table:
    chains: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)

    def in_chain(self, chain: str) -> list[Rule]:
        return [r for r in self.rules if r.chain == chain]


_TOOLS: list[Tools] = []
_TOOLS_LOCK = threading.Lock()


def tools() -> Tools:
    """The host's iptables tools, detected once per agent."""
    with _TOOLS_LOCK:
        if not _TOOLS:
            _TOOLS.append(_detect())
        return _TOOLS[0]


def _output(argv: list[str]) -> str:
    try:
        done = hostcaps.run(argv, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.decode(errors="replace") if done.returncode == 0 else ""


def _variant(mode: str) -> Tools | None:
    command, save, restore = (
        shutil.which(f"iptables-{mode}{s}") for s in ("", "-save", "-restore")
    )
    if command is None or save is None or restore is None:
        return None
    return Tools(mode, command, save, restore)


def _has_rules(variant: Tools) -> bool:
    return any(line.startswith("-A ") for line in _output([variant.save]).splitlines())


def _detect() -> Tools:
    found = _detect_variant()
    if found.mode is None:
        return found
    return replace(found, restore_wait=_restore_waits(found.restore))


def _restore_waits(restore: str) -> bool:
    """Whether iptables-restore takes -w: asked of the tool by a test run that commits nothing."""
    try:
        done = hostcaps.run([restore, "-w", "--test", "--noflush"], stdin=b"", timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return True
    return done.returncode == 0


def _detect_variant() -> Tools:
    forced = os.environ.get("HOSTNET_IPTABLES")
    if forced in ("nft", "legacy"):
        variant = _variant(forced)
        if variant is not None:
            return variant
    default = shutil.which("iptables")
    if default is None:
        return Tools(None)
    version = _output([default, "-V"])
    mode = "nft" if "nf_tables" in version else "legacy"
    other = "legacy" if mode == "nft" else "nft"
    mine, theirs = _variant(mode), _variant(other)
    if mine is not None and theirs is not None and not _has_rules(mine) and _has_rules(theirs):
        return theirs
    return mine or Tools(mode, default, shutil.which("iptables-save") or "iptables-save",
                         shutil.which("iptables-restore") or "iptables-restore")  # fmt: skip


def check_table(table: str) -> str:
    if table not in TABLES:
        raise Invalid(f"bad iptables table {table!r}; one of {', '.join(TABLES)}")
    return table


def check_chain(chain: str, *, own: bool = False) -> str:
    problem = chain_problem(chain, own=own)
    if problem:
        raise Invalid(problem)
    return chain


def strip_comment(tokens: list[str]) -> list[str]:
    """``tokens`` without a ``-m comment --comment hostnet:...`` match."""
    for i in range(len(tokens) - 3):
        if tokens[i : i + 3] == ["-m", "comment", "--comment"] and tokens[i + 3].startswith(
            MARK_PREFIX
        ):
            return tokens[:i] + tokens[i + 4 :]
    return list(tokens)


PRIORITY_SEP = " prio="


def _owner(tokens: list[str]) -> tuple[str | None, int | None]:
    """Owner and priority from hostnet's comment: ``hostnet:<owner>[ prio=<n>]``."""
    for i in range(len(tokens) - 1):
        if tokens[i] == "--comment" and tokens[i + 1].startswith(MARK_PREFIX):
            owner, sep, prio = tokens[i + 1][len(MARK_PREFIX) :].rpartition(PRIORITY_SEP)
            if sep and prio.isdigit():
                return owner, int(prio)
            return tokens[i + 1][len(MARK_PREFIX) :], None
    return None, None


def parse(text: str) -> Table:
    """One table of `iptables-save` output; lines hostnet cannot split are kept as foreign."""
    table = Table()
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith(":"):
            name, _, rest = line[1:].partition(" ")
            table.chains[name] = rest.split(" ")[0] if rest else "-"
        elif line.startswith("-A "):
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            chain = words[1] if len(words) > 1 else ""
            counts[chain] = counts.get(chain, 0) + 1
            tokens = words[2:]
            owner, priority = _owner(tokens)
            table.rules.append(Rule(chain, tokens, owner, counts[chain], priority))
    return table


def quote(token: str) -> str:
    """A token as iptables-restore reads it (double quotes around blanks)."""
    if token and not any(c.isspace() or c in "'\"#" for c in token):
        return token
    return '"' + token + '"'


def _fail(argv: list[str], done: subprocess.CompletedProcess[bytes]) -> AgentError:
    err = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
    text = err[0] if err else f"exit status {done.returncode}"
    cls = NotFound if "No chain/target/match by that name" in text else Failed
    return cls(f"{' '.join(argv[:4])}: {text}")


def save(ctx: Context, ns: Netns, table: str | None = None) -> str:
    argv = [tools().save] + (["-t", table] if table else [])
    done = ctx.run(argv, ns=ns)
    if done.returncode != 0:
        raise _fail(argv, done)
    return done.stdout.decode(errors="replace")


def read_table(ctx: Context, ns: Netns, table: str) -> Table:
    return parse(save(ctx, ns, table))


def iptables(ctx: Context, ns: Netns, table: str, words: list[str]) -> None:
    argv = [tools().iptables, "-w", "-t", table, *words]
    done = ctx.run(argv, ns=ns)
    if done.returncode != 0:
        raise _fail(argv, done)


def restore(ctx: Context, ns: Netns, table: str, lines: list[str]) -> None:
    """One transaction that adds to the table (never flushes it)."""
    text = "\n".join([f"*{table}", *lines, "COMMIT", ""])
    found = tools()
    if found.restore_wait:
        argv = [found.restore, "-w", "--noflush"]
        done = ctx.run(argv, ns=ns, stdin=text.encode())
    else:
        argv = [found.restore, "--noflush"]
        with xtables_lock(ctx, ns):
            done = ctx.run(argv, ns=ns, stdin=text.encode())
    if done.returncode != 0:
        raise _fail(argv, done)


@contextlib.contextmanager
def xtables_lock(ctx: Context, ns: Netns) -> Iterator[None]:
    """The locks `iptables -w` takes, held while an iptables-restore without -w runs:
    flock on /run/xtables.lock (iptables 1.6 on, and RHEL 7's 1.4.21) and the
    abstract socket @xtables of the namespace (upstream 1.4.x)."""
    path = os.environ.get("XTABLES_LOCKFILE") or XTABLES_LOCK
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    held: list[socket.socket] = []
    try:
        pause = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if not held:
                    held.append(_bind_abstract(ns))
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EADDRINUSE):
                    raise
                if ctx.remaining() < pause:
                    raise Busy("another iptables holds the xtables lock") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        yield
    finally:
        for sock in held:
            sock.close()
        os.close(fd)


def _bind_abstract(ns: Netns) -> socket.socket:
    sock = hostcaps.socket_in(ns.require(), socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind("\0xtables")
    except OSError:
        sock.close()
        raise
    return sock


def line(command: str, chain: str, tokens: list[str]) -> str:
    return " ".join([command, chain, *(quote(t) for t in tokens)])


def without_counters(text: str) -> dict[str, list[str]]:
    """`iptables-save` output by table, without comments and counters (for snapshots)."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in text.splitlines():
        if raw.startswith("*"):
            current = found.setdefault(raw[1:], [])
        elif raw.startswith(":"):
            current.append(raw.rsplit(" [", 1)[0])
        elif raw and not raw.startswith("#") and raw != "COMMIT":
            current.append(raw)
    return found
