"""The ``natlink`` command line.

``natlink sandbox [--port 3000] [--state DIR] [--reset] [--tour]`` runs the whole product on this
machine (``python -m sandbox``): both stand-ins and ``natlink serve`` wired to them, with a web page
that plays Slack. ``natlink sandbox azure`` runs the Azure stand-in alone (``python -m sandbox.arm``).
Both replace this process: the product never imports ``sandbox``, so a stand-in cannot share code
with the client it tests.

``natlink inventory [--json]`` sweeps the subscriptions in NATLINK_SUBSCRIPTIONS and prints the
services, connections, endpoints and address mappings. The JSON shape is stable::

    {"taken_at": ISO-8601, "subscriptions": [id], "unreadable": [{subscription, code, message}],
     "services": [{id, name, ..., nat_ips: [ip], ports: [[frontend, backend]], backends: [...],
                   connections: [{id, name, status, private_endpoint_id, token, ...}]}],
     "endpoints": [{id, name, subscription, ip, subnet_id, vnet_name, status, ...}],
     "mappings": [{service, connection, status, consumer_visible, consumer_source_ip, consumer_vm,
                   pe_ip, port, nat_ips: [ip], frontend_ip, backend_ip, backend_port,
                   consumer_destination, backend_source: [ip]}]}

``pe_ip`` and ``consumer_destination`` are null when the endpoint's subscription is not readable.
Exit status: 0 done, 1 Azure refused or failed (code, message and hint on stderr), 2 bad settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloud.model import Mapping, Snapshot


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
        return _inventory(as_json=known.json)
    parser.error(f"unknown command: {' '.join(argv)}")
    return 2


def _manifest(url: str | None, socket_mode: bool) -> int:
    from bot.manifest import ManifestError, render

    try:
        print(render(url, socket_mode), end="")
    except ManifestError as exc:
        print(f"natlink manifest: {exc}", file=sys.stderr)
        return 2
    return 0


def _inventory(as_json: bool) -> int:
    """Imports ``cloud`` here so that ``natlink sandbox`` never loads the Azure SDK."""
    from cloud.clients import Clients
    from cloud.errors import CloudError
    from cloud.inventory import snapshot
    from cloud.mapping import mappings
    from cloud.settings import CloudSettings, SettingsError

    try:
        settings = CloudSettings.from_env(os.environ)
    except SettingsError as exc:
        print(f"natlink: {exc}", file=sys.stderr)
        return 2
    try:
        taken = snapshot(Clients(settings), settings.subscriptions)
    except CloudError as exc:
        print(f"natlink: {exc.code}: {exc.message}\nhint: {exc.hint or 'none'}", file=sys.stderr)
        return 1
    rows = mappings(taken)
    print(json.dumps(_inventory_json(taken, rows), indent=2) if as_json else _inventory_tables(taken, rows))
    return 0


def _inventory_json(taken: Snapshot, rows: list[Mapping]) -> dict[str, Any]:
    return {
        "taken_at": taken.taken_at.isoformat(),
        "subscriptions": list(taken.subscriptions),
        "unreadable": [asdict(u) for u in taken.unreadable],
        "services": [asdict(s) for s in taken.services],
        "endpoints": [asdict(e) for e in taken.endpoints],
        "mappings": [_mapping_json(m) for m in rows],
    }


def _mapping_json(mapping: Mapping) -> dict[str, Any]:
    return asdict(mapping) | {
        "consumer_destination": mapping.consumer_destination,
        "backend_source": list(mapping.backend_source),
    }


def _inventory_tables(taken: Snapshot, rows: list[Mapping]) -> str:
    services = [
        (s.name, s.subscription, s.alias, ",".join(s.nat_ips), s.frontend_ip, len(s.connections))
        for s in taken.services
    ]
    connections = [
        (s.name, c.name, c.status, c.endpoint_subscription, c.token)
        for s in taken.services
        for c in s.connections
    ]
    endpoints = [(e.name, e.subscription, e.ip, e.vnet_name, e.status) for e in taken.endpoints]
    mapped = [
        (
            m.service,
            m.connection,
            m.status,
            m.consumer_destination or "(not visible)",
            ",".join(m.backend_source),
            f"{m.backend_ip}:{m.backend_port}",
        )
        for m in rows
    ]
    unreadable = [(u.subscription, u.code) for u in taken.unreadable]
    return "\n\n".join(
        [
            _table("SERVICE SUBSCRIPTION ALIAS NAT_IPS FRONTEND CONNECTIONS", services),
            _table("SERVICE CONNECTION STATUS ENDPOINT_SUBSCRIPTION TOKEN", connections),
            _table("ENDPOINT SUBSCRIPTION IP VNET STATUS", endpoints),
            _table("SERVICE CONNECTION STATUS CONSUMER_DESTINATION BACKEND_SEES_SOURCE BACKEND", mapped),
            *([_table("UNREADABLE_SUBSCRIPTION CODE", unreadable)] if unreadable else []),
        ]
    )


def _table(headers: str, rows: list[tuple[Any, ...]]) -> str:
    """Left-aligned columns; None shows as '-'."""
    cells = [headers.split(), *[["-" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


if __name__ == "__main__":
    sys.exit(main())
