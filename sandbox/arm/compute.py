"""Virtual machines (Microsoft.Compute): read, power off and start. Power state is kept.

The sandbox does not create VMs over the API (natlink never does); the seed and generated
worlds place them with ``place_vm``.
"""

from __future__ import annotations

from . import ids
from .common import guid, rendered
from .errors import ArmError, bad_request
from .world import Claim, Json, Ref, World, etag, now_iso

COMPUTE = "Microsoft.Compute"
VM_TYPE = "Microsoft.Compute/virtualMachines"
# action -> (state while it runs, state when done)
POWER_ACTIONS = {
    "powerOff": ("stopping", "stopped"),
    "start": ("starting", "running"),
    "deallocate": ("deallocating", "deallocated"),
    "restart": ("starting", "running"),
}
POWER_NAMES = {
    "running": "VM running",
    "stopped": "VM stopped",
    "deallocated": "VM deallocated",
    "starting": "VM starting",
    "stopping": "VM stopping",
    "deallocating": "VM deallocating",
}


def place_vm(
    world: World, subscription: str, group: str, name: str, location: str, nic_id: str, os_type: str
) -> Json:
    rid = ids.resource_id(subscription, group, COMPUTE, "virtualMachines", name)
    vm = {
        "name": name,
        "id": rid,
        "type": VM_TYPE,
        "location": location,
        "tags": {},
        "etag": '"1"',
        "properties": {
            "vmId": guid(),
            "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
            "storageProfile": {
                "imageReference": {
                    "publisher": "MicrosoftWindowsServer",
                    "offer": "WindowsServer",
                    "sku": "2019-Datacenter",
                    "version": "latest",
                },
                "osDisk": {
                    "osType": os_type,
                    "name": f"{name}_OsDisk_1",
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {"storageAccountType": "Premium_LRS"},
                    "diskSizeGB": 127,
                },
                "dataDisks": [],
            },
            "osProfile": {"computerName": name[:15], "adminUsername": "azureuser", "secrets": []},
            "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]},
            "provisioningState": "Succeeded",
            "timeCreated": now_iso(),
        },
        "_power": "running",
    }
    world.put(vm)
    nic = world.editable(nic_id)
    assert nic is not None
    nic["properties"]["virtualMachine"] = {"id": rid}
    world.put(nic)
    return vm


def instance_view(stored: Json) -> Json:
    power = stored["_power"]
    return {
        "computerName": stored["properties"]["osProfile"]["computerName"],
        "osName": "Windows Server 2019 Datacenter",
        "osVersion": "10.0.17763",
        "statuses": [
            {
                "code": f"ProvisioningState/{stored['properties']['provisioningState'].lower()}",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "time": stored["properties"]["timeCreated"],
            },
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": POWER_NAMES[power]},
        ],
    }


class VirtualMachines:
    namespace = COMPUTE
    type = "virtualMachines"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        raise ArmError(
            400,
            "OperationNotAllowed",
            "The sandbox does not create virtual machines over the API; use the control API to load a world.",
            target=rid,
        )

    def render(self, world: World, stored: Json) -> Json:
        return rendered(stored)

    def check_delete(self, world: World, rid: str) -> None:
        raise bad_request("OperationNotAllowed", "The sandbox does not delete virtual machines.", rid)

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []

    def refs(self, stored: Json) -> list[Ref]:
        return []


def begin_power_action(world: World, rid: str, action: str) -> None:
    vm = world.editable(rid)
    if vm is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{rid}' was not found.", target=rid)
    vm["_power"] = POWER_ACTIONS[action][0]
    vm["etag"] = etag()
    world.put(vm)


def finish_power_action(world: World, rid: str, action: str) -> None:
    vm = world.editable(rid)
    if vm is not None:
        vm["_power"] = POWER_ACTIONS[action][1]
        world.put(vm)


def set_power(world: World, rid: str, power: str) -> None:
    """Force a power state (the control API's 'the VM crashed' or 'someone started it')."""
    vm = world.editable(rid)
    if vm is None or power not in POWER_NAMES:
        raise bad_request("InvalidPowerState", f"Unknown VM {rid} or power state {power!r}.")
    vm["_power"] = power
    world.put(vm)
