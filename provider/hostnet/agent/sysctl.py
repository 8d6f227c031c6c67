"""sysctl ops with a journal of the values they replaced.

The first write of a key by an owner records the value it found in
<run dir>/sysctl/<netns label>@<netns inode>/<key>; sysctl_restore writes it
back and drops the record. The inode keeps apart namespaces that share /run
but not their names (hosts of the local lab, a namespace deleted and made
again under the same name). One owner per key and namespace: another owner gets NotOwned.
Inside another namespace /proc/sys is read and written by a short child
process that has entered it, never by switching a thread of the agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import urllib.parse
from typing import Any

from .args import Args
from .context import Context
from .errors import Failed, Invalid, NotFound, NotOwned
from .nsref import OWN_PATH, Netns
from .rundir import ensure_dir, run_dir

_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$")
_PROC_SYS_CHILD = """\
import json, sys
try:
    if sys.argv[1] == "write":
        with open(sys.argv[2], "w") as f:
            f.write(sys.argv[3])
        paths = sys.argv[2:3]
    else:
        paths = sys.argv[2:]
    values = []
    for path in paths:
        try:
            with open(path) as f:
                values.append(f.read())
        except FileNotFoundError:
            values.append(None)
    print(json.dumps({"values": values}))
except OSError as e:
    print(json.dumps({"error": e.strerror, "errno": e.errno}))
"""


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key or key.endswith("."):
        raise Invalid(f"bad sysctl key {key!r}")
    return key


def _proc_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def _norm(value: str) -> str:
    return " ".join(value.split())


def _read_here(path: str) -> str | None:
    try:
        with open(path) as f:
            return _norm(f.read())
    except FileNotFoundError:
        return None


def _in_child(ctx: Context, ns: Netns, argv: list[str]) -> list[str | None]:
    done = ctx.run([sys.executable, "-I", "-S", "-c", _PROC_SYS_CHILD, *argv], ns=ns)
    try:
        reply = json.loads(done.stdout)
    except ValueError:
        err = done.stderr.decode(errors="replace").strip()
        raise Failed(f"sysctl in {ns.label}: {err or 'no answer'}") from None
    if "error" in reply:
        raise Failed(f"sysctl in {ns.label}: {reply['error']}", errno=reply.get("errno"))
    return [None if v is None else _norm(v) for v in reply["values"]]


def read_many(ctx: Context, ns: Netns, keys: list[str]) -> list[str | None]:
    """Values of ``keys`` in ``ns`` (None: no such key); one child at most."""
    paths = [_proc_path(k) for k in keys]
    if ns.own:
        return [_read_here(p) for p in paths]
    return _in_child(ctx, ns, ["read", *paths])


def _write(ctx: Context, ns: Netns, key: str, value: str) -> None:
    path = _proc_path(key)
    if not ns.own:
        _in_child(ctx, ns, ["write", path, value])
        return
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as exc:
        raise Failed(f"sysctl {key}: {exc.strerror}", errno=exc.errno) from None


def _record_path(ns: Netns, key: str) -> str | None:
    """Where the record for ``key`` in ``ns`` lives; None if the namespace is gone."""
    try:
        inode = os.stat(ns.path or OWN_PATH).st_ino
    except OSError:
        return None
    label = urllib.parse.quote(ns.label, safe="")
    return os.path.join(run_dir(), "sysctl", f"{label}@{inode}", key)


def _load(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            record = json.load(f)
    except FileNotFoundError:
        return None
    return record if isinstance(record, dict) else None


def _save(path: str, record: dict[str, Any]) -> None:
    ensure_dir(os.path.dirname(path))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(record, f)
    os.replace(tmp, path)


def _value(args: Args) -> str:
    value = args.raw("value")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or "\n" in value or "\0" in value:
        raise Invalid(f"{args.op}: argument 'value' must be a one-line string")
    return value


def sysctl_read(ctx: Context, args: Args) -> Any:
    key = check_key(args.text("key"))
    ns = ctx.netns(args.ref())
    return read_many(ctx, ns, [key])[0] if ns.exists() else None


def sysctl_write(ctx: Context, args: Args) -> Any:
    key, value, owner = check_key(args.text("key")), _value(args), args.owner()
    ns = ctx.netns(args.ref())
    ns.require()
    current = read_many(ctx, ns, [key])[0]
    if current is None:
        raise NotFound(f"sysctl {key} does not exist in {ns.label}")
    if not args.flag("record", default=True):
        # A namespace hostnet owns: its settings go with it, nothing to restore.
        if current != _norm(value):
            _write(ctx, ns, key, value)
        return {"previous": current}
    path = _record_path(ns, key)
    if path is None:
        raise NotFound(f"network namespace {ns.label!r} does not exist")
    record = _load(path)
    if record is not None and record.get("owner") != owner:
        raise NotOwned(f"sysctl {key} in {ns.label} is managed by {record.get('owner')!r}")
    created = record is None
    if record is None:
        record = {"owner": owner, "previous": current, "netns": ns.label, "key": key}
        _save(path, record)
    if current != _norm(value):
        try:
            _write(ctx, ns, key, value)
        except Exception:
            if created:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise
    return {"previous": record["previous"]}


def sysctl_restore(ctx: Context, args: Args) -> Any:
    key, owner = check_key(args.text("key")), args.owner()
    ns = ctx.netns(args.ref())
    path = _record_path(ns, key) if ns.exists() else None
    # A namespace that is gone took its settings (and its record's key) with it.
    record = None if path is None else _load(path)
    if path is None or record is None:
        return {"restored": None}
    if record.get("owner") != owner:
        raise NotOwned(f"sysctl {key} in {ns.label} is managed by {record.get('owner')!r}")
    previous = record.get("previous")
    restored = None
    # A key that is gone (its link was deleted) took the setting with it.
    current = read_many(ctx, ns, [key])[0] if isinstance(previous, str) else None
    if isinstance(previous, str) and current is not None:
        if current != _norm(previous):
            _write(ctx, ns, key, previous)
        restored = previous
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return {"restored": restored}
