"""Reading what `hostnet graph` wrote: the SVG's elements (ids, classes, tooltips,
texts) and the DOT's nodes, parsed rather than looked at."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.conftest import Stack

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


@dataclass(frozen=True)
class Drawn:
    """One node, edge or cluster of the SVG."""

    id: str
    classes: frozenset[str]
    tooltip: str
    texts: tuple[str, ...]


def run_graph(stack: Stack, *outputs: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "hostnet.cli", "graph", "--stack", stack.name]
    argv += ["--cwd", str(stack.workdir)]
    for output in outputs:
        argv += ["-o", str(output)]
    proc = subprocess.run(
        argv, env=stack.env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def parse_svg(path: Path) -> dict[str, Drawn]:
    root = ET.parse(path).getroot()
    found = {}
    for group in root.iter(f"{SVG}g"):
        classes = frozenset((group.get("class") or "").split())
        if not classes & {"node", "edge", "cluster"}:
            continue
        links = [a.get(f"{XLINK}title") or "" for a in group.iter(f"{SVG}a")]
        texts = tuple(t.text or "" for t in group.iter(f"{SVG}text"))
        found[group.get("id") or ""] = Drawn(
            id=group.get("id") or "", classes=classes, tooltip="\n".join(links), texts=texts
        )
    return found


def _attr(line: str, name: str) -> str | None:
    """A DOT attribute's value, quoted ("a b") or bare (a)."""
    found = re.search(rf'\b{name}=(?:"([^"]*)"|([^\s\]"]+))', line)
    return None if found is None else (found[1] if found[1] is not None else found[2])


def dot_classes(path: Path) -> dict[str, str]:
    """Each node statement's ``id`` -> its ``class`` in a DOT file."""
    found = {}
    for line in path.read_text().splitlines():
        ident, cls = _attr(line, "id"), _attr(line, "class")
        if re.match(r"\s*n\d+ \[", line) and ident and cls:
            found[ident] = cls
    return found


def holders(drawn: dict[str, Drawn], rid: str) -> list[Drawn]:
    """The elements whose tooltip lists this resource id."""
    return [
        d
        for d in drawn.values()
        if any(line.startswith(rid + " (") for line in d.tooltip.split("\n"))
    ]
