"""Reachability probes run from inside a namespace: ICMP echo and TCP connect."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from .args import Args
from .context import Context
from .errors import Invalid

# Connects, then reads until the first newline, EOF or the timeout.
_TCP = """\
import json, socket, sys, time
addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + timeout
out = {"ok": False, "detail": "", "banner": None}
try:
    s = socket.create_connection((addr, port), timeout=timeout)
except OSError as e:
    out["detail"] = "connect %s port %d: %s" % (addr, port, e.strerror or e)
else:
    out["ok"] = True
    out["detail"] = "connected to %s port %d" % (addr, port)
    data = b""
    try:
        while b"\\n" not in data and len(data) < 4096:
            s.settimeout(max(0.01, end - time.monotonic()))
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    if data:
        out["banner"] = data.split(b"\\n")[0].decode("utf-8", "replace").rstrip("\\r")
print(json.dumps(out))
"""


def probe(ctx: Context, args: Args) -> Any:
    kind = args.text("kind")
    address = args.address("address")
    timeout = args.number("timeout", default=2.0)
    ns = ctx.netns(args.ref())
    if kind == "ping":
        argv = ["ping", "-n", "-c", "1", "-W", str(max(1, math.ceil(timeout)))]
        size = args.opt_integer("size", lo=0, hi=65507)
        if size is not None:
            # Don't fragment: a path whose MTU is too small fails instead of
            # passing the frame in pieces.
            argv += ["-M", "do", "-s", str(size)]
        argv.append(address)
        done = ctx.run(argv, ns=ns)
        lines = done.stdout.decode(errors="replace").strip().splitlines()
        err = done.stderr.decode(errors="replace").strip()
        detail = err or next((x for x in reversed(lines) if x), "") or f"exit {done.returncode}"
        summary = next((x for x in lines if "packets transmitted" in x), detail)
        return {"ok": done.returncode == 0, "detail": summary, "banner": None}
    if kind == "tcp":
        port = args.integer("port", lo=1, hi=65535)
        argv = [sys.executable, "-I", "-S", "-c", _TCP, address, str(port), str(timeout)]
        done = ctx.run(argv, ns=ns)
        try:
            result: dict[str, Any] = json.loads(done.stdout)
        except ValueError:
            err = done.stderr.decode(errors="replace").strip()
            return {"ok": False, "detail": err or f"exit {done.returncode}", "banner": None}
        return result
    raise Invalid(f"{args.op}: kind must be 'ping' or 'tcp'")
