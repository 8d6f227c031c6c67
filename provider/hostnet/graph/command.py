"""``hostnet graph --stack NAME [--format svg|png|mermaid|dot] [-o FILE]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hostnet import transport
from hostnet.graph import stack as stack_state
from hostnet.graph.build import build
from hostnet.graph.gather import read_hosts
from hostnet.graph.model import Graph
from hostnet.graph.render import FORMATS, render


def add_graph_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="draw a stack's hosts as they are (read only: no host changes)",
        description="Read the stack's hosts through their agents (read operations only) "
        "and draw the network: hosts, namespaces, bridges, veth pairs, VXLAN, routes, "
        "NAT and filter rules; hostnet's objects apart from foreign ones, drift marked.",
    )
    parser.add_argument("--stack", help="the stack whose hosts to draw")
    parser.add_argument("--cwd", help="project directory (default: here)")
    parser.add_argument("--state", help="read the stack from this `pulumi stack export` file")
    parser.add_argument("--format", choices=FORMATS, help="default: from -o's suffix, else svg")
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        help="write here (default: standard output); repeat for several formats of one reading",
    )
    parser.set_defaults(handler=_cmd_graph)


def _format(requested: str | None, output: str | None) -> str:
    if requested:
        return requested
    suffix = Path(output).suffix.lstrip(".") if output else ""
    return {"mmd": "mermaid", "gv": "dot"}.get(suffix, suffix if suffix in FORMATS else "svg")


def graph_of(export: dict[str, Any], *, title: str) -> Graph:
    """Read the hosts of an exported stack and build its graph."""
    resources = stack_state.declared(export)
    views, statuses = read_hosts(
        resources,
        connections=stack_state.connections(resources),
        addresses=stack_state.addresses(resources),
    )
    return build(title=title, views=views, resources=resources, statuses=statuses)


def _cmd_graph(args: argparse.Namespace) -> int:
    if args.state:
        export = json.loads(Path(args.state).read_text(encoding="utf-8"))
    else:
        export = stack_state.export_stack(stack=args.stack, cwd=args.cwd)
    try:
        graph = graph_of(export, title=f"stack {args.stack or '(current)'}")
    finally:
        transport.close_all()
    for output in args.output:
        requested = args.format if len(args.output) == 1 else None
        Path(output).write_bytes(render(graph, _format(requested, output)))
    if not args.output:
        sys.stdout.buffer.write(render(graph, _format(args.format, None)))
    drifted = sorted(s.rid for s in graph.statuses().values() if s.state != "ok")
    for rid in drifted:
        print(f"hostnet graph: {graph.statuses()[rid].text}", file=sys.stderr)
    return 0
