"""The ``hostnet`` command: the local lab, verification of a stack on its hosts, and
its picture."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hostnet import lab, verify
from hostnet.graph.command import add_graph_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hostnet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    lab.add_lab_commands(commands)
    verify.add_verify_command(commands)
    add_graph_command(commands)
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
