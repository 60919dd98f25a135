"""The ``natlink`` command line.

``natlink sandbox [--port 3000] [--state DIR] [--reset] [--tour]`` runs the whole product on this
machine (``python -m sandbox``): both stand-ins and ``natlink serve`` wired to them, with a web page
that plays Slack. ``natlink sandbox azure`` runs the Azure stand-in alone (``python -m sandbox.arm``).
Both replace this process: the product never imports ``sandbox``, so a stand-in cannot share code
with the client it tests.

``natlink serve``, ``natlink sweep --once``, ``natlink manifest``, ``natlink inventory`` (see
``bot/inventory.py`` for its stable JSON shape), ``natlink role`` (the Azure custom role with
exactly natlink's actions, ``cloud/roles.py``) and ``natlink doctor`` (checks a deployment,
``bot/doctor.py``) are the others.
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
    if argv[:1] == ["sandbox"]:  # before argparse: every option after it is the sandbox's own
        if argv[1:2] == ["azure"]:
            return _exec_module("sandbox.arm", argv[2:])
        return _exec_module("sandbox", argv[1:])
    commands.add_parser(
        "sandbox",
        help="run natlink against stand-ins for Azure and Slack on this machine, with a web page "
        "(natlink sandbox [--port 3000] [--state DIR] [--reset] [--tour]; natlink sandbox azure)",
        add_help=False,
    )
    inventory = commands.add_parser("inventory", help="print services, endpoints and who sees which address")
    inventory.add_argument(
        "--json", action="store_true", help="print the stable JSON shape instead of tables"
    )
    role = commands.add_parser(
        "role",
        help="print an Azure custom role with exactly natlink's actions (for az role definition create)",
    )
    role.add_argument(
        "--side", choices=("provider", "consumer", "all"), default="all", help="which side's role"
    )
    role.add_argument(
        "--scope",
        action="append",
        default=[],
        help="an assignable scope, /subscriptions/<id>[/resourceGroups/<name>] (repeatable; default: "
        "each of NATLINK_SUBSCRIPTIONS)",
    )
    role.add_argument(
        "--with-verify",
        action="store_true",
        help="add the Network Watcher actions `verify` will use (optional)",
    )
    doctor = commands.add_parser(
        "doctor",
        help="check settings, Slack, Azure and the database before anyone types /natlink "
        "(exit 0 all good, 1 a blocker, 2 bad settings)",
    )
    doctor.add_argument(
        "--socket-mode", action="store_true", help="check as `serve --socket-mode` runs (SLACK_APP_TOKEN)"
    )
    serve = commands.add_parser("serve", help="run the bot: Slack over HTTP (or Socket Mode), Azure, workers")
    serve.add_argument(
        "--socket-mode", action="store_true", help="connect to Slack over Socket Mode (SLACK_APP_TOKEN)"
    )
    sweep = commands.add_parser("sweep", help="sweep Azure once, post what changed, and exit")
    sweep.add_argument("--once", action="store_true", required=True, help="run one sweep and exit (for cron)")
    manifest = commands.add_parser("manifest", help="print app.yaml with this deployment's URLs filled in")
    manifest.add_argument(
        "--url", help="the https origin Slack sends requests to, e.g. https://natlink.example.com"
    )
    manifest.add_argument("--socket-mode", action="store_true", help="a manifest for Socket Mode (no URLs)")
    known, rest = parser.parse_known_args(argv)
    if known.command == "serve" and not rest:
        from bot.serve import serve

        return serve(known.socket_mode)
    if known.command == "sweep" and not rest:
        from bot.serve import sweep_once

        return sweep_once()
    if known.command == "manifest" and not rest:
        return _manifest(known.url, known.socket_mode)
    if known.command == "inventory" and not rest:
        from bot.inventory import report

        return report(as_json=known.json)
    if known.command == "doctor" and not rest:
        from bot.doctor import main as doctor

        return doctor(known.socket_mode)
    if known.command == "role" and not rest:
        return _role(known.side, known.scope, known.with_verify)
    parser.error(f"unknown command: {' '.join(argv)}")
    return 2


def _role(side: str, scopes: list[str], verify: bool) -> int:
    """Print the role; the scopes default to the subscriptions natlink is configured for."""
    from cloud import roles

    if not scopes:
        configured = os.environ.get("NATLINK_SUBSCRIPTIONS", "")
        scopes = [f"/subscriptions/{s.strip()}" for s in configured.split(",") if s.strip()]
    bad = [s for s in scopes if not s.lower().startswith("/subscriptions/")]
    if not scopes or bad:
        print(
            "natlink role: give --scope /subscriptions/<id> (or set NATLINK_SUBSCRIPTIONS)"
            + (f"; not a scope: {', '.join(bad)}" if bad else ""),
            file=sys.stderr,
        )
        return 2
    print(roles.render(side, scopes, verify=verify), end="")
    return 0


def _manifest(url: str | None, socket_mode: bool) -> int:
    from bot.manifest import ManifestError, render

    try:
        print(render(url, socket_mode), end="")
    except ManifestError as exc:
        print(f"natlink manifest: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
