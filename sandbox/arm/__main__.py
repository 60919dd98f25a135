"""``python -m sandbox.arm``: run the Azure stand-in until SIGINT or SIGTERM.

The first line on stdout is one JSON object with everything a client needs to connect.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from . import identity, seed
from .server import ArmServer, make_world
from .tls import ensure_certificates
from .world import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="natlink sandbox azure", description=__doc__)
    parser.add_argument("--port", type=int, default=8443, help="TCP port on 127.0.0.1; 0 lets the OS pick")
    parser.add_argument("--state", type=Path, help="JSON file the world is kept in; reloaded at start")
    parser.add_argument(
        "--empty", action="store_true", help="start with no subscriptions instead of the seed world"
    )
    parser.add_argument(
        "--world",
        choices=sorted(seed.WORLDS),
        default="seed",
        help="the world a new state starts with (default: seed)",
    )
    parser.add_argument(
        "--lro-seconds", type=float, default=0.0, help="how long each long-running operation runs"
    )
    parser.add_argument("--page-size", type=int, default=100, help="items per page of a list")
    parser.add_argument(
        "--cloud",
        type=str.lower,
        choices=sorted(identity.CLOUDS),
        default="azurecloud",
        help="the Azure cloud played: the token audience its ARM accepts (AzureCloud by default)",
    )
    args = parser.parse_args(argv)
    if args.lro_seconds < 0 or args.page_size < 1 or not 0 <= args.port <= 65535:
        parser.error("--lro-seconds must be >= 0, --page-size >= 1 and --port from 0 to 65535")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(page_size=args.page_size, lro_seconds=args.lro_seconds)
    world = make_world(args.state, settings)
    if args.state and args.state.exists():
        world.load(json.loads(args.state.read_text()))
    else:
        if not args.empty:
            seed.WORLDS[args.world](world)
        world.save()
    scratch = None if args.state else Path(tempfile.mkdtemp(prefix="natlink-arm-"))
    tls_dir = args.state.with_name(args.state.stem + "-tls") if args.state else scratch
    assert tls_dir is not None
    ca, cert, key = ensure_certificates(tls_dir)
    server = ArmServer(world, args.port, cert, key, identity.cloud(args.cloud))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.serve_in_thread()
    print(
        json.dumps(
            {
                "arm_url": server.base_url,
                "authority_host": server.base_url,
                "cloud": server.cloud.name,
                "tenant_id": world.identity.tenant_id,
                "client_id": world.identity.client_id,
                "client_secret": world.identity.client_secret,
                "portal_client_id": world.identity.portal_client_id,
                "portal_client_secret": world.identity.portal_client_secret,
                "ca_bundle": str(ca.resolve()),
                "control_url": f"{server.base_url}/_sandbox",
                "subscriptions": [s["subscriptionId"] for s in world.subscriptions.values()],
            }
        ),
        flush=True,
    )
    stop.wait()
    server.shutdown()
    server.server_close()
    world.save()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    print("sandbox azure stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
