"""``natlink inventory [--json]``: what natlink sees in the configured subscriptions.

It sweeps the subscriptions in NATLINK_SUBSCRIPTIONS and prints the
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

import json
import os
import sys
from dataclasses import asdict
from typing import Any

from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.inventory import snapshot
from cloud.mapping import mappings
from cloud.model import Mapping, Snapshot
from cloud.settings import CloudSettings, SettingsError


def report(as_json: bool) -> int:
    """Sweep and print; the CLI imports this module only for ``inventory``, so other commands never
    load the Azure SDK."""

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
            m.consumer_destination or ("(no address yet)" if m.consumer_visible else "(not visible)"),
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
