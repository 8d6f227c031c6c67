"""Stands in for python3 on a host: runs the real agent and kills it as soon as
the first change (a bridge to make) reaches it, as a crash mid-run would."""

import subprocess
import sys

child = subprocess.Popen([sys.executable, *sys.argv[1:]], stdin=subprocess.PIPE)
src = sys.stdin.buffer
size = src.readline()
child.stdin.write(size)
child.stdin.write(src.read(int(size)))
child.stdin.flush()
for line in iter(src.readline, b""):
    if b'"op":"link_ensure_bridge"' in line:
        child.kill()
        sys.exit(0)
    child.stdin.write(line)
    child.stdin.flush()
