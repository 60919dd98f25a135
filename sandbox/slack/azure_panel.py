"""The page's Azure panel: the ARM world summarised, and the portal's buttons.

A person acts here as they would in the Azure portal, behind natlink's back: power a VM off and
on, reject a connection, create a private endpoint by alias. Each goes to the ARM stand-in
through the portal client, so the bot only learns of it the way it would in Azure.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from sandbox.loopback import Refusal
from sandbox.portal import Outcome, Portal, config_file

from .azure_view import VNET, parent, summarise

Json = dict[str, Any]

VM_TYPE = "Microsoft.Compute/virtualMachines"
TEAM_A_NAME = "Team A"
RESOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
POWER_ACTIONS = {"stopped": "powerOff", "running": "start"}


class AzurePanel:
    def __init__(self, arm_config: Path | None) -> None:
        self.configured = arm_config is not None
        self.portal = Portal(config_file(arm_config))

    def summary(self) -> Json:
        return {"ok": True} | summarise(self.portal.state())

    def power(self, spec: Json) -> Json:
        """Power a VM off or on with the real VM API (``powerOff`` / ``start``), as the portal does."""
        state = spec.get("state")
        action = POWER_ACTIONS.get(state) if isinstance(state, str) else None
        if action is None:
            raise Refusal(400, "invalid_arguments", "'state' is 'stopped' or 'running'")
        vm = self._find(VM_TYPE, spec.get("vm"))
        return _answer(self.portal.power(vm["id"], action)) | {"vm": vm["id"], "action": action}

    def reject(self, spec: Json) -> Json:
        """Reject a private endpoint connection on the provider side."""
        cid = spec.get("connection")
        if not isinstance(cid, str) or "/privateendpointconnections/" not in cid.lower():
            raise Refusal(400, "invalid_arguments", "'connection' is a privateEndpointConnections ID")
        description = str(spec.get("description") or "Rejected in the portal")
        return _answer(self.portal.reject(cid, description)) | {"connection": cid}

    def create_endpoint(self, spec: Json) -> Json:
        """A PE (in Team A's first subnet unless told) with a manual connection to an alias."""
        alias = spec.get("alias")
        if not isinstance(alias, str) or not alias:
            raise Refusal(400, "invalid_arguments", "'alias' is required")
        state = self.portal.state()
        subnet = spec.get("subnet")
        if not isinstance(subnet, str) or not subnet:
            subnet = _team_a_subnet(state)
        name = spec.get("name") or f"pe-portal-{int(time.time()) % 100000}"
        if not isinstance(name, str) or not RESOURCE_NAME.fullmatch(name):
            raise Refusal(400, "invalid_arguments", "'name' is not a valid resource name")
        vnet = next((r for r in state["resources"] if r["id"].lower() == parent(subnet).lower()), None)
        location = (vnet or {}).get("location", "japaneast")
        endpoint_id, outcome = self.portal.create_endpoint(subnet, name, alias, location)
        return _answer(outcome) | {"endpoint": endpoint_id}

    def _find(self, rtype: str, ref: Any) -> Json:
        """A resource of ``rtype`` by ID or name, case-insensitively."""
        if not isinstance(ref, str) or not ref:
            raise Refusal(400, "invalid_arguments", f"name the {rtype}")
        for r in self.portal.state()["resources"]:
            if str(r.get("type", "")).lower() == rtype.lower() and ref.lower() in (
                r["id"].lower(),
                r["name"].lower(),
            ):
                return r
        raise Refusal(404, "resource_not_found", ref)


def _team_a_subnet(state: Json) -> str:
    subscriptions = state["subscriptions"]
    team_a = next(
        (s["subscriptionId"] for s in subscriptions if s.get("displayName") == TEAM_A_NAME),
        subscriptions[0]["subscriptionId"] if subscriptions else "",
    )
    vnets = [
        r
        for r in state["resources"]
        if r.get("type", "").lower() == VNET
        and r["id"].lower().startswith(f"/subscriptions/{team_a.lower()}/")
    ]
    subnets = [s for v in vnets for s in (v.get("properties") or {}).get("subnets") or []]
    if not subnets:
        raise Refusal(409, "no_subnet", "Team A has no subnet")
    return subnets[0]["id"]


def _answer(outcome: Outcome) -> Json:
    return {"ok": True, "status": outcome.status, "arm": outcome.body}
