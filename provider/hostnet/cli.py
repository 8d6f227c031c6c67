"""The ``hostnet`` command: the local lab, verification of a stack on its hosts, and
its picture."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from hostnet import verify
from hostnet.graph.command import add_graph_command

# The lab is a distribution of its own (provider/hostnet_lab in a checkout), not part
# of the hostnet wheel: `hostnet lab` is there when it is installed.
LAB_PACKAGE = "hostnet_lab"
NO_LAB = (
    "hostnet lab: the lab is not installed (it is not part of the hostnet wheel); "
    "from a hostnet checkout run `make setup`, or "
    "`pip install -e provider/hostnet_lab`"
)


def _no_lab(_: argparse.Namespace) -> int:
    print(NO_LAB, file=sys.stderr)
    return 2


def _add_lab_commands(commands: Any) -> None:
    try:
        lab = importlib.import_module(LAB_PACKAGE)
    except ModuleNotFoundError as err:
        if err.name != LAB_PACKAGE:
            raise
        missing = commands.add_parser("lab", help="the local multi-host lab (not installed)")
        missing.add_argument("rest", nargs=argparse.REMAINDER)
        missing.set_defaults(handler=_no_lab)
        return
    lab.add_lab_commands(commands)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hostnet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_lab_commands(commands)
    verify.add_verify_command(commands)
    add_graph_command(commands)
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
