"""Guards: a change that may cut the management path, undone by the host itself
unless the controller proves it still gets in.

``guard_arm`` saves the state of exactly what the change touches (a link's master,
MTU, up state, addresses and routes; the routes to one destination; one of
hostnet's chains and its jump; a sysctl) as plain ``ip``/``iptables`` commands and
/proc/sys writes, in <run dir>/guards/<key>.json, and starts a detached process
(its own session, stdlib only, no pyroute2: the agent lives in memory and dies
with the SSH session) that sleeps until the deadline and, if the file is still
there, runs those commands and records what it did. ``guard_disarm`` removes the
file and stops the process. The deadline is on CLOCK_MONOTONIC, which every
process of a host shares and which, like /run, starts again at boot.

An agent starting finds the guards of its namespace: one whose process died
(killed with the session that armed it) gets a new process, which reverts at
once if the deadline has passed; the ready line lists them all.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.parse
from typing import Any

from . import hostcaps
from .args import Args
from .context import Context
from .errors import Exists, Invalid
from .iptsave import tools
from .nsref import OWN_PATH
from .records import load, save
from .rundir import ensure_dir, run_dir

# The guard process. argv: the guard file. Reverts by renaming the file first,
# so a disarm racing it either wins (the file is gone) or sees "reverted".
GUARD_SCRIPT = r"""
import json, os, subprocess, sys, time
path = sys.argv[1]
pidfile = path[:-len(".json")] + ".pid"
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
g = load(path)
while g is not None and g["deadline"] > time.monotonic():
    time.sleep(min(0.5, max(0.01, g["deadline"] - time.monotonic())))
    g = load(path)
def leave():
    try:
        os.unlink(pidfile)
    except OSError:
        pass
    sys.exit(0)
if g is None:
    leave()
work = path + ".reverting"
try:
    os.rename(path, work)
except OSError:
    leave()
done = []
for step in g["revert"]:
    try:
        if "write" in step:
            with open(step["write"], "w") as f:
                f.write(step["value"])
            rc, err = 0, ""
        else:
            p = subprocess.run(step["argv"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=20)
            rc, err = p.returncode, p.stderr.decode(errors="replace").strip()[-200:]
    except Exception as exc:
        rc, err = -1, str(exc)[-200:]
    done.append({"step": step, "rc": rc, "err": err})
g.update(state="reverted", reverted_at=time.monotonic(), steps=done)
with open(work, "w") as f:
    json.dump(g, f)
os.rename(work, path[:-len(".json")] + ".reverted.json")
leave()
"""

_FLAGS = {"linkdown", "dead", "offload", "trap", "rt_offload", "rt_trap", "onlink"}


def _ip() -> str:
    """`ip` by its full path: the guard process must not depend on PATH."""
    return shutil.which("ip") or "/sbin/ip"


def _dir() -> str:
    return os.path.join(run_dir(), "guards")


def _path(key: str, suffix: str = ".json") -> str:
    return os.path.join(_dir(), urllib.parse.quote(key, safe="") + suffix)


def _netns_inode() -> int:
    return os.stat(OWN_PATH).st_ino


def _out(ctx: Context, argv: list[str]) -> str:
    done = hostcaps.run(argv, timeout=ctx.remaining())
    return done.stdout.decode(errors="replace") if done.returncode == 0 else ""


def _route_lines(ctx: Context, selector: list[str]) -> list[list[str]]:
    """Routes as `ip route replace` arguments (no kernel, local or link-local ones)."""
    lines = []
    for family in ("-4", "-6"):
        for line in _out(ctx, [_ip(), family, "route", "show", *selector]).splitlines():
            words = line.split()
            if not words or words[0] in ("local", "broadcast", "multicast", "anycast"):
                continue
            if words[0].startswith("fe80") or "kernel" in words or "local" in words[1:]:
                continue
            kept: list[str] = []
            skip = False
            for word in words:
                if skip:
                    skip = False
                elif word == "expires":
                    skip = True
                elif word not in _FLAGS:
                    kept.append(word)
            lines.append([family, *kept])
    return lines


def _link(ctx: Context, ifname: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """(link steps, route steps, what is restored) for one link."""
    shown = _out(ctx, [_ip(), "-o", "link", "show", "dev", ifname])
    if not shown:
        return [{"argv": [_ip(), "link", "del", "dev", ifname]}], [], f"{ifname} removed"
    flags = re.search(r"<([^>]*)>", shown)
    up = bool(flags and "UP" in flags.group(1).split(","))
    master = re.search(r" master (\S+)", shown)
    mtu = re.search(r" mtu (\d+)", shown)
    addrs = []
    for line in _out(
        ctx, [_ip(), "-o", "addr", "show", "dev", ifname, "scope", "global"]
    ).splitlines():
        words = line.split()
        if len(words) > 3 and words[2] in ("inet", "inet6"):
            addrs.append(words[3])
    ip = [_ip(), "link", "set", "dev", ifname]
    steps = [{"argv": [*ip, "master", master.group(1)] if master else [*ip, "nomaster"]}]
    if mtu:
        steps.append({"argv": [*ip, "mtu", mtu.group(1)]})
    steps.append({"argv": [_ip(), "addr", "flush", "dev", ifname, "scope", "global"]})
    steps += [{"argv": [_ip(), "addr", "add", a, "dev", ifname]} for a in addrs]
    steps.append({"argv": [*ip, "up" if up else "down"]})
    routes = _route_lines(ctx, ["table", "all", "dev", ifname])
    # Routes through a gateway need their connected route first.
    routes.sort(key=lambda r: "via" in r)
    route_steps = [
        {"argv": [_ip(), r[0], "route", "replace", *r[1:], "dev", ifname]} for r in routes
    ]
    view = [f"master {master.group(1) if master else 'none'}", "up" if up else "down", *addrs]
    view += [" ".join(r[1:]) for r in routes]
    return steps, route_steps, f"{ifname} back to " + ", ".join(view)


def _route(ctx: Context, dst: str, table: int) -> tuple[list[dict[str, Any]], str]:
    family = "-6" if ":" in dst else "-4"
    before = _route_lines(ctx, ["table", str(table), "exact", dst])
    # However many routes the change left for dst, each `del` removes one.
    steps = [{"argv": [_ip(), family, "route", "del", dst, "table", str(table)]} for _ in range(4)]
    steps += [
        {"argv": [_ip(), r[0], "route", "replace", *r[1:], "table", str(table)]} for r in before
    ]
    view = "; ".join(" ".join(r[1:]) for r in before) or "none"
    return steps, f"routes to {dst} back to {view}"


def _rules(ctx: Context, table: str, chain: str, parent: str) -> tuple[list[dict[str, Any]], str]:
    ipt = [tools().iptables, "-w", "-t", table]
    rules = [
        shlex.split(line)
        for line in _out(ctx, [*ipt, "-S", chain]).splitlines()
        if line.startswith("-A ")
    ]
    chain_exists = bool(_out(ctx, [*ipt, "-S", chain]))
    jump = f"-j {chain}" in _out(ctx, [*ipt, "-S", parent])
    steps: list[dict[str, Any]] = []
    if not jump:
        steps += [{"argv": [*ipt, "-D", parent, "-j", chain]} for _ in range(3)]
    steps.append({"argv": [*ipt, "-F", chain]})
    steps += [{"argv": [*ipt, *rule]} for rule in rules]
    if not chain_exists:
        steps.append({"argv": [*ipt, "-X", chain]})
    return (
        steps,
        f"{chain} back to {len(rules)} rule(s){'' if jump else ', no jump from ' + parent}",
    )


def _sysctl(ctx: Context, key: str) -> tuple[list[dict[str, Any]], str]:
    path = "/proc/sys/" + key.replace(".", "/")
    with open(path) as f:
        value = f.read().strip()
    return [{"write": path, "value": value + "\n"}], f"{key} back to {value}"


def pre_image(ctx: Context, touches: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The revert steps and what they restore, for what a change will touch."""
    first: list[dict[str, Any]] = []
    last: list[dict[str, Any]] = []
    what: list[str] = []
    for touch in touches:
        kind = touch.get("what") if isinstance(touch, dict) else None
        if kind == "link":
            steps, routes, view = _link(ctx, str(touch["ifname"]))
            first += steps
            last += routes
        elif kind == "route":
            steps, view = _route(ctx, str(touch["dst"]), int(touch.get("table") or 254))
            last += steps
        elif kind == "rules":
            steps, view = _rules(
                ctx, str(touch["table"]), str(touch["chain"]), str(touch["parent"])
            )
            first += steps
        elif kind == "sysctl":
            steps, view = _sysctl(ctx, str(touch["key"]))
            first += steps
        else:
            raise Invalid(f"guard_arm: cannot guard {touch!r}")
        what.append(view)
    return first + last, what


def _pid(key: str) -> int:
    try:
        with open(_path(key, ".pid")) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def _alive(pid: int, path: str) -> bool:
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return path.encode() in f.read()
    except OSError:
        return False


def _spawn(path: str) -> None:
    subprocess.Popen(  # noqa: S603 -- argv list, no shell
        [sys.executable, "-I", "-S", "-c", GUARD_SCRIPT, path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _view(record: dict[str, Any], state: str) -> dict[str, Any]:
    left = float(record.get("deadline", 0)) - time.monotonic()
    return {
        "key": record.get("key"),
        "state": state,
        "reason": record.get("reason"),
        "what": record.get("what", []),
        "deadline_in": round(left, 1),
        "failed": [s["step"] for s in record.get("steps", []) if s.get("rc")],
    }


def guard_arm(ctx: Context, args: Args) -> Any:
    key = args.text("key")
    timeout = float(args.integer("timeout", lo=1, hi=3600))
    touches = args.raw("touches")
    if not isinstance(touches, list) or not touches:
        raise Invalid("guard_arm: touches must be a non-empty list")
    ensure_dir(_dir())
    path = _path(key)
    found = load(path)
    if found is not None:
        # Past its deadline with no process (killed): a new one reverts it now.
        # Before the deadline the process may be starting still; leave it be.
        if found["deadline"] < time.monotonic() and not _alive(_pid(key), path):
            _spawn(path)
        raise Exists(
            f"a guard for {key} is armed already ({found.get('reason')}; deadline in "
            f"{found['deadline'] - time.monotonic():.0f} s): it reverts unless disarmed"
        )
    for stale in (path, _path(key, ".reverted.json"), _path(key, ".reported.json")):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
    revert, what = pre_image(ctx, touches)
    record = {
        "key": key,
        "reason": args.opt_text("reason"),
        "deadline": time.monotonic() + timeout,
        "netns": _netns_inode(),
        "state": "armed",
        "revert": revert,
        "what": what,
    }
    save(path, record)
    _spawn(path)
    return {"key": key, "what": what, "deadline_in": timeout}


def guard_disarm(ctx: Context, args: Args) -> Any:
    """Stop a guard; say whether it had reverted already (and what)."""
    key = args.text("key")
    path, done = _path(key), _path(key, ".reverted.json")
    record = load(path)
    if record is not None:
        taken = f"{path}.disarm"
        try:
            os.rename(path, taken)  # the guard process now finds nothing to revert
        except FileNotFoundError:
            record = None
        else:
            os.unlink(taken)
            pid = _pid(key)
            if _alive(pid, path):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 15)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(_path(key, ".pid"))
            return _view(record, "disarmed")
    for _ in range(100):  # a revert in progress finishes within its steps' time
        if not os.path.exists(path + ".reverting"):
            break
        time.sleep(0.2)
    for name in (done, _path(key, ".reported.json")):
        reverted = load(name)
        if reverted is not None:
            os.unlink(name)
            return _view(reverted, "reverted")
    return {"key": key, "state": None}


def guard_list(ctx: Context, args: Args) -> Any:
    return pending()


def pending() -> list[dict[str, Any]]:
    """This namespace's guards; a guard whose process died gets a new one, which
    reverts at once when its deadline has passed. Reverted records are reported
    once (here); guard_disarm or the next guard_arm of the key removes them."""
    try:
        names = sorted(os.listdir(_dir()))
    except FileNotFoundError:
        return []
    inode = _netns_inode()
    found = []
    for name in names:
        path = os.path.join(_dir(), name)
        record = load(path)
        if record is None or record.get("netns") != inode:
            continue
        if name.endswith(".reverted.json"):
            # Kept for the controller that armed it (guard_disarm collects it),
            # but reported only once.
            found.append(_view(record, "reverted"))
            os.replace(path, path[: -len(".reverted.json")] + ".reported.json")
        elif name.endswith(".json") and not name.endswith(".reported.json"):
            view = _view(record, "armed")
            if not _alive(_pid(str(record.get("key"))), path):
                _spawn(path)
                view["respawned"] = True
            found.append(view)
    return found


def management_path() -> dict[str, Any] | None:
    """The SSH connection this agent was started over: the controller as the
    host sees it (peer), the host's address it reached (local) and the link that
    holds it (local_dev), and the route back to the peer (dev, via). None when
    not started over SSH (or sudo dropped the environment)."""
    words = os.environ.get("SSH_CONNECTION", "").split()
    if len(words) != 4:
        return None
    path: dict[str, Any] = {"peer": words[0], "local": words[2], "port": int(words[3])}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = hostcaps.run([_ip(), "route", "get", words[0]], timeout=5)
        route = done.stdout.decode(errors="replace").split()
        for name, key in (("dev", "dev"), ("via", "via"), ("src", "src")):
            if name in route[:-1]:
                path[key] = route[route.index(name) + 1]
    with contextlib.suppress(OSError, subprocess.SubprocessError, IndexError):
        done = hostcaps.run([_ip(), "-o", "address", "show", "to", words[2]], timeout=5)
        lines = done.stdout.decode(errors="replace").splitlines()
        if lines:
            path["local_dev"] = lines[0].split()[1].split("@")[0]
    return path
