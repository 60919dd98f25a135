"""``python -m sandbox`` (``natlink sandbox``): the whole product on this machine, no Azure or Slack needed.

Starts, in this process group, the Azure stand-in with the seed world, the Slack stand-in with its
web page on ``--port``, and ``natlink serve`` wired to both with a deployment's settings; on a new
state, grants alice and bob their rights as the sandbox admin. Runs until Ctrl-C or SIGTERM, then
stops everything it started. State is kept in ``--state``, so the next run continues.

``--tour`` instead plays the seed story with no browser, on a fresh state in a temporary directory
(your ``--state`` is not touched), prints what each person saw, and exits 0, or 1 naming the step
that did not happen. ``--world seed-by-hand`` starts from the walkthrough as its author built it in
the portal (and its tour takes that estate over). ``natlink sandbox azure`` runs the Azure stand-in alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .arm.seed import WORLDS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="natlink sandbox",
        description=__doc__.split("\n\n")[1].replace("``", "") if __doc__ else None,
        epilog="natlink sandbox azure [--port 8443] [--state PATH] ...: the Azure stand-in alone.",
    )
    parser.add_argument(
        "--port", type=int, default=3000, help="where the Slack page is served on 127.0.0.1 (default 3000)"
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(".natlink-sandbox"),
        help="directory for arm.json, slack.json and natlink.db (default ./.natlink-sandbox/)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete the sandbox's state first and start fresh"
    )
    parser.add_argument(
        "--world",
        choices=sorted(WORLDS),
        default="seed",
        help="what a new state's Azure starts as: 'seed' (the default world, nothing natlink made yet, "
        "two services made elsewhere to adopt), 'seed-by-hand' (the walkthrough as built in the portal: "
        "LB-temp with its RDP inbound NAT rule and PrivateLink-01 on it) or 'walkthrough' (the seed "
        "without the services made elsewhere)",
    )
    parser.add_argument(
        "--tour",
        action="store_true",
        help="play the seed story without a browser on a fresh temporary state, print the transcript, exit",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error("--port must be from 1 to 65535")
    if args.state.exists() and not args.state.is_dir():
        parser.error(f"--state must be a directory, and {args.state} is a file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.tour:
        from .tour import tour

        return tour(world=args.world)
    from .orchestrate import run

    return run(args.port, args.state, args.reset, args.world)


if __name__ == "__main__":
    sys.exit(main())
