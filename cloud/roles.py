"""natlink's exact Azure rights, as custom role definitions for ``az role definition create``.

Each action below is one natlink makes (read from every Azure call in ``cloud/``), with the step
that needs it. Two roles, because the two sides of a link usually belong to two teams:

* **provider** (where services live): create and delete services, approve, reject and revoke
  connections;
* **consumer** (where endpoints live): request endpoints;

and both carry the reads a sweep needs in every subscription natlink watches. Azure Monitor's
metrics read is in both too: the built-in Monitoring Reader grants it, but with ``*/read``, every
read of the scope, which is not least privilege. The rights ``verify`` needs (Network Watcher,
the agent extension, the capture storage account's keys) are added only when asked (``VERIFY``,
``natlink role --with-verify``): a packet capture reads traffic, which not every team wants
natlink able to do.

ARM also checks ``<type>/join/action`` on every resource a write links (a NIC's subnet and pools,
a subnet's NSG, route table and NAT gateway), whether or not the write changes that link.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# Every subscription natlink sweeps, on either side.
SWEEP: dict[str, str] = {
    "Microsoft.Compute/virtualMachines/read": "sweep (VMs and power state, statusOnly list); find --vm",
    "Microsoft.Network/privateLinkServices/read": "sweep (services list); status, map; create reads it back; adopt",
    "Microsoft.Network/privateEndpoints/read": "sweep (endpoints list); decide reads a request's token",
    "Microsoft.Network/networkInterfaces/read": "sweep (NICs list); find --vm reads the VM's NIC",
    "Microsoft.Network/loadBalancers/read": "sweep (LBs list); create --lb, delete find natlink's LB",
    "Microsoft.Compute/virtualMachineScaleSets/networkInterfaces/read": "sweep: NICs of a scale set in a pool",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read": "sweep: instances of a scale set in a pool",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces/read": "status: one instance's NIC",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView/read": "status: an instance's power",
    "Microsoft.Insights/metrics/read": "sweep: DipAvailability and PLSNatPortsUsage (Azure Monitor)",
}

PROVIDER: dict[str, str] = {
    "Microsoft.Compute/virtualMachines/instanceView/read": "status: a backend VM's power state",
    "Microsoft.Network/virtualNetworks/subnets/read": "create: the subnet's network policies and links",
    "Microsoft.Network/virtualNetworks/subnets/write": "create: disable privateLinkServiceNetworkPolicies",
    "Microsoft.Network/networkSecurityGroups/read": "create: check the subnet's NSG can be joined",
    "Microsoft.Network/routeTables/read": "create: check the subnet's route table can be joined",
    "Microsoft.Network/natGateways/read": "create: check the subnet's NAT gateway can be joined",
    "Microsoft.Network/networkSecurityGroups/join/action": "create: the subnet PUT resends its NSG",
    "Microsoft.Network/routeTables/join/action": "create: the subnet PUT resends its route table",
    "Microsoft.Network/natGateways/join/action": "create: the subnet PUT resends its NAT gateway",
    "Microsoft.Network/virtualNetworks/subnets/join/action": "create: LB frontend, NIC and PLS NAT IPs",
    "Microsoft.Network/loadBalancers/write": "create: natlink's LB, frontend, pool, probe, rule; delete",
    "Microsoft.Network/loadBalancers/delete": "delete: natlink's LB once no service uses it",
    "Microsoft.Network/loadBalancers/backendAddressPools/join/action": "create: the VM's NIC joins the pool",
    "Microsoft.Network/loadBalancers/inboundNatRules/join/action": "create, delete: a NIC PUT resends its NAT rules",
    "Microsoft.Network/networkInterfaces/write": "create: NIC into the pool; delete: out of it",
    "Microsoft.Network/publicIPAddresses/join/action": "create, delete: a NIC PUT resends its public IP",
    "Microsoft.Network/privateLinkServices/write": "create: the private link service",
    "Microsoft.Network/privateLinkServices/delete": "delete: the private link service",
    "Microsoft.Network/privateLinkServices/privateEndpointConnections/read": "approve, reject, revoke: find it",
    "Microsoft.Network/privateLinkServices/privateEndpointConnections/write": "approve, reject; delete rejects",
    "Microsoft.Network/privateLinkServices/privateEndpointConnections/delete": "revoke, expiry: remove it",
}

CONSUMER: dict[str, str] = {
    "Microsoft.Network/virtualNetworks/read": "request --vnet/--subnet: find the consumer subnet",
    "Microsoft.Network/virtualNetworks/subnets/join/action": "request: the endpoint's subnet",
    "Microsoft.Network/privateEndpoints/write": "request: the private endpoint, manual connection",
    "Microsoft.Network/privateEndpoints/delete": "request: remove a failed or replaced endpoint",
}

# Optional: `verify` (cloud/watcher.py), on both sides. Not in any role unless asked.
VERIFY: dict[str, str] = {
    "Microsoft.Network/networkWatchers/read": "verify: find the region's network watcher",
    "Microsoft.Network/networkWatchers/connectivityCheck/action": "verify: a TCP check from VM-A to the endpoint",
    "Microsoft.Compute/virtualMachines/extensions/read": "verify: the Network Watcher agent on each VM",
    "Microsoft.Compute/virtualMachines/extensions/write": "verify --install-agent: install the agent",
    "Microsoft.Network/networkWatchers/packetCaptures/write": "verify --capture: start the capture on VM-B",
    "Microsoft.Network/networkWatchers/packetCaptures/read": "verify --capture: where the capture file is",
    "Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action": "verify --capture: is it running",
    "Microsoft.Network/networkWatchers/packetCaptures/stop/action": "verify --capture: stop it",
    "Microsoft.Network/networkWatchers/packetCaptures/delete": "verify --capture: delete it afterwards",
    "Microsoft.Storage/storageAccounts/read": "verify --capture: the capture account's blob endpoint",
    "Microsoft.Storage/storageAccounts/listKeys/action": "verify --capture: read and delete the capture blob",
}

SIDES = ("provider", "consumer", "all")
ROLE_NAMES = {"provider": "natlink provider", "consumer": "natlink consumer", "all": "natlink"}
_DESCRIPTIONS = {
    "provider": "natlink on the provider side: expose VM ports as private link services, decide connections, "
    "delete services; and sweep.",
    "consumer": "natlink on the consumer side: request private endpoints; and sweep.",
    "all": "natlink on both sides: services, decisions and endpoints; and sweep.",
}


@dataclass(frozen=True)
class Grant:
    """Which of natlink's roles grant an action, and the command that prints it."""

    action: str
    sides: tuple[str, ...]
    verify: bool = False

    @property
    def advice(self) -> str:
        """Which role to grant and the command that prints it; empty for an action natlink never uses."""
        if not self.sides:
            return ""
        extra, flag = (" (with verify)", " --with-verify") if self.verify else ("", "")
        return " or ".join(
            f"grant the {ROLE_NAMES[s]}{extra} role: `natlink role --side {s}{flag}`" for s in self.sides
        )


def actions(side: str, *, verify: bool = False) -> list[str]:
    """The actions of one side's role ("all": both), sorted, without duplicates."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}")
    parts = [SWEEP]
    parts += [PROVIDER] if side in ("provider", "all") else []
    parts += [CONSUMER] if side in ("consumer", "all") else []
    parts += [VERIFY] if verify else []
    return sorted({a for part in parts for a in part}, key=str.lower)


def definition(side: str, scopes: list[str], *, verify: bool = False) -> dict[str, object]:
    """The role as ``az role definition create --role-definition`` takes it."""
    if not scopes:
        raise ValueError("a role needs at least one assignable scope (/subscriptions/<id>)")
    return {
        "Name": ROLE_NAMES[side] + (" (with verify)" if verify else ""),
        "IsCustom": True,
        "Description": _DESCRIPTIONS[side],
        "Actions": actions(side, verify=verify),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": list(scopes),
    }


def render(side: str, scopes: list[str], *, verify: bool = False) -> str:
    return json.dumps(definition(side, scopes, verify=verify), indent=2) + "\n"


def granting(action: str, beside: str | None = None) -> Grant:
    """Which of natlink's roles grant ``action`` (compared case-insensitively, as Azure does). When
    both do, ``beside`` (the action ARM did allow, e.g. the endpoint write a subnet join was for)
    picks the side the step belongs to."""
    tables = {
        "provider": {a.lower() for a in (*SWEEP, *PROVIDER)},
        "consumer": {a.lower() for a in (*SWEEP, *CONSUMER)},
    }
    sides = tuple(side for side, held in tables.items() if action.lower() in held)
    if not sides and action.lower() in {a.lower() for a in VERIFY}:
        return Grant(action, SIDES[:2], verify=True)
    if len(sides) == 2 and beside:
        own = tuple(
            side for side, table in (("provider", PROVIDER), ("consumer", CONSUMER)) if beside in table
        )
        sides = own if len(own) == 1 else sides
    return Grant(action, sides)
