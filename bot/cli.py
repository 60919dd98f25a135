"""The ``natlink`` command line.

``natlink sandbox azure`` runs the Azure stand-in in its own process (``python -m sandbox.arm``):
the product never imports ``sandbox``, so a stand-in cannot share code with the client it tests.
"""

from __future__ import annotations

import argparse
import os
import sys


def _exec_module(module: str, args: list[str]) -> int:
    """Replace this process with ``python -m module``, so signals reach it directly."""
    os.execv(sys.executable, [sys.executable, "-m", module, *args])
    return 1  # not reached: execv only returns by raising


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="natlink", description="Azure Private Link double NAT, run from Slack."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sandbox = commands.add_parser("sandbox", help="run stand-ins for Azure and Slack on this machine")
    parts = sandbox.add_subparsers(dest="part", required=True, metavar="PART")
    parts.add_parser("azure", help="the Azure Resource Manager and Entra ID stand-in", add_help=False)
    known, rest = parser.parse_known_args(argv)
    if known.command == "sandbox" and known.part == "azure":
        return _exec_module("sandbox.arm", rest)
    parser.error(f"unknown command: {' '.join(argv)}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
