"""Starts ARGV detached, logging to LOG, and prints its PID: a short-lived parent,
so the node process is orphaned at once and never a zombie of a long-lived caller
(pytest) once it is killed. Run as `python3 -c`; usage: LOG ARGV..."""

import subprocess
import sys

with open(sys.argv[1], "ab") as log:
    proc = subprocess.Popen(  # noqa: S603 -- the lab's own argv list
        sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
    )
print(proc.pid, flush=True)
