"""``python -m sandbox.slack``: run the Slack stand-in until SIGINT or SIGTERM.

The first line on stdout is one JSON object with everything a bot and a driver need to connect.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .control import describe
from .server import SlackServer
from .world import World


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="natlink sandbox slack", description=__doc__)
    parser.add_argument("--port", type=int, default=3100, help="TCP port on 127.0.0.1; 0 lets the OS pick")
    parser.add_argument("--state", type=Path, help="JSON file the workspace is kept in; reloaded at start")
    parser.add_argument(
        "--bot-url",
        help="the bot's /slack/events URL: the web page's commands and clicks are sent there, signed",
    )
    parser.add_argument(
        "--arm-config",
        type=Path,
        help="JSON file with the ARM stand-in's first line (arm_url, authority_host, tenant_id, client_id, "
        "client_secret, ca_bundle), for the web page's Azure panel and portal buttons",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be from 0 to 65535")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    world = World(args.state)
    if args.state and args.state.exists():
        world.load(json.loads(args.state.read_text()))
    world.save()
    server = SlackServer(world, args.port, bot_url=args.bot_url, arm_config=args.arm_config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.serve_in_thread()
    print(json.dumps(describe(world, server.base_url)), flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    world.save()
    print("sandbox slack stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
