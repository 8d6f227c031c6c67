"""sysctl ops with a journal of the values they replaced.

The first write of a key records its owner and the value it found (records.py);
sysctl_restore writes that value back and drops the record. One owner per key
and namespace, claimed by the rule of owner.py: another stack's key is NotOwned.
Inside another namespace /proc/sys is read and written by a short child
process that has entered it, never by switching a thread of the agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from . import select
from .args import Args
from .context import Context
from .errors import Failed, Invalid, NotFound
from .nsref import Netns
from .owner import MARK_PREFIX, owner_view, parse_mark
from .records import load, record_path, remove, save

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
    if not select.sysctl_key_ok(key):
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
    return record_path(ns, kind="sysctl", key=key)


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
    if not ns.exists():
        return None
    return select.sysctl_read(values(ctx, ns, [key]), key=key)


def sysctl_read_owned(ctx: Context, args: Args) -> Any:
    """The value and the owner of its record (OWNER; null without a record)."""
    key = check_key(args.text("key"))
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    return select.sysctl_read_owned(values(ctx, ns, [key]), key=key)


def values(ctx: Context, ns: Netns, keys: list[str]) -> dict[str, Any]:
    """A snapshot's sysctl values of ``keys`` and the owners of their records."""
    found = read_many(ctx, ns, keys)
    owners = {}
    for key in keys:
        record = load(_record_path(ns, key))
        if record is not None:
            owners[key] = owner_view(_mark_of(record))
    return {"sysctl": {key: found[i] for i, key in enumerate(keys)}, "sysctl_owners": owners}


def recorded_keys(ns: Netns) -> list[str]:
    """The keys of ``ns`` whose first write hostnet recorded."""
    path = _record_path(ns, "x")
    try:
        names = os.listdir(os.path.dirname(path)) if path is not None else []
    except FileNotFoundError:
        return []
    return sorted(n for n in names if select.sysctl_key_ok(n) and not n.endswith(".tmp"))


def sysctl_write(ctx: Context, args: Args) -> Any:
    key, value, claim = check_key(args.text("key")), _value(args), args.claim()
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
    record = load(path)
    created = record is None
    if record is None:
        record = {"owner": claim.me.body(), "previous": current, "netns": ns.label, "key": key}
        save(path, record)
    elif claim.check(_mark_of(record), what=f"sysctl {key} in {ns.label}"):
        # Taken over: the value found before the first owner wrote stays the one
        # to restore.
        save(path, {**record, "owner": claim.me.body()})
    if current != _norm(value):
        try:
            _write(ctx, ns, key, value)
        except Exception:
            if created:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise
    return {"previous": record["previous"], "created": created}


def sysctl_restore(ctx: Context, args: Args) -> Any:
    key, claim = check_key(args.text("key")), args.claim()
    ns = ctx.netns(args.ref())
    path = _record_path(ns, key) if ns.exists() else None
    # A namespace that is gone took its settings (and its record's key) with it.
    record = load(path)
    if path is None or record is None:
        return {"restored": None}
    if not claim.mine(parse_mark(_mark_of(record))):
        return {"restored": None, "kept": claim.kept(_mark_of(record))}
    previous = record.get("previous")
    restored = None
    # A key that is gone (its link was deleted) took the setting with it.
    current = read_many(ctx, ns, [key])[0] if isinstance(previous, str) else None
    if isinstance(previous, str) and current is not None:
        if current != _norm(previous):
            _write(ctx, ns, key, previous)
        restored = previous
    remove(path)
    return {"restored": restored}


def _mark_of(record: dict[str, Any]) -> str:
    return MARK_PREFIX + str(record.get("owner") or "")
