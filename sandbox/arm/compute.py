"""Virtual machines (Microsoft.Compute): read, power off and start. Power state is kept.

The sandbox does not create VMs over the API (natlink never does); the seed and generated
worlds place them with ``place_vm``.
"""

from __future__ import annotations

from . import ids
from .common import draft, guid, properties, rendered
from .errors import ArmError, bad_request
from .network import build_nic_ipconfig, ipconfig_claims
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
    } | ({"extensions": extension_statuses(stored)} if extensions(stored) else {})


class VirtualMachines:
    namespace = COMPUTE
    type = "virtualMachines"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        raise ArmError(
            400,
            # OperationNotAllowed: ARM's code: azure-docs common-deployment-errors.md
            "OperationNotAllowed",
            "The sandbox does not create virtual machines over the API; use the control API to load a world.",
            target=rid,
        )

    def render(self, world: World, stored: Json) -> Json:
        return render_vm(stored)

    def check_delete(self, world: World, rid: str) -> None:
        # OperationNotAllowed: ARM's code: azure-docs common-deployment-errors.md
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
        # ResourceNotFound: ARM's code: azure-docs common-deployment-errors.md
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
    """Force a power state (the control API's 'the VM crashed' or 'someone started it'); ``rid``
    may be a scale set instance (``.../virtualMachineScaleSets/{vmss}/virtualMachines/{i}``)."""
    parsed = ids.parse(rid)
    if parsed and len(parsed.types) == 2 and parsed.types[0].lower() == "virtualmachinescalesets":
        stored = world.editable(parsed.parent)
        instance = scale_set_instance(stored, parsed.name) if stored else None
        if stored is None or instance is None or power not in POWER_NAMES:
            # InvalidPowerState: the stand-in's own
            raise bad_request("InvalidPowerState", f"Unknown instance {rid} or power state {power!r}.")
        instance["power"] = power
        world.put(stored)
        return
    vm = world.editable(rid)
    if vm is None or power not in POWER_NAMES:
        # InvalidPowerState: the stand-in's own
        raise bad_request("InvalidPowerState", f"Unknown VM {rid} or power state {power!r}.")
    vm["_power"] = power
    world.put(vm)


# ------------------------------------------------------------------ scale sets
# A scale set's instances and their NICs, as Azure shows them:
# * the scale set (specification/compute/.../ComputeRP/stable/*/virtualMachineScaleSet.json,
#   VirtualMachineScaleSets_CreateOrUpdate): ``sku.capacity`` instances built from
#   ``virtualMachineProfile.networkProfile.networkInterfaceConfigurations``, whose IP
#   configurations may name load balancer backend pools;
# * its instances (VirtualMachineScaleSetVMs_List / _Get / _GetInstanceView, ``$expand=instanceView``
#   on the list), named ``<scale set>_<instance id>``;
# * their NICs, served only under the scale set's path (specification/network/.../stable/*/
#   vmssNetworkInterface.json: NetworkInterfaces_ListVirtualMachineScaleSetNetworkInterfaces,
#   _ListVirtualMachineScaleSetVMNetworkInterfaces, _GetVirtualMachineScaleSetNetworkInterface),
#   with IDs ``.../virtualMachineScaleSets/{vmss}/virtualMachines/{i}/networkInterfaces/{nic}``.
#   The subscription's NIC list (NetworkInterfaces_ListAll) never shows them (Azure/azure-cli#817),
#   so they are kept inside the scale set here, never as Microsoft.Network resources;
# * a backend pool lists their IP configurations in ``backendIPConfigurations``.
VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
VMSS_VM_TYPE = f"{VMSS_TYPE}/virtualMachines"
SCALE_SET_CAPACITY_MAX = 1000  # Azure's limit for a scale set of platform images


class VirtualMachineScaleSets:
    namespace = COMPUTE
    type = "virtualMachineScaleSets"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, location, props, stored = draft(world, rid, parsed, VMSS_TYPE, body)
        sku = body.get("sku") if isinstance(body.get("sku"), dict) else {}
        capacity = sku.get("capacity", 2)
        if not isinstance(capacity, int) or not 0 <= capacity <= SCALE_SET_CAPACITY_MAX:
            raise bad_request(
                # InvalidParameter: ARM's code: azure-docs common-deployment-errors.md
                "InvalidParameter",
                f"The value of parameter sku.capacity is invalid: it must be 0 to {SCALE_SET_CAPACITY_MAX}.",
                rid,
            )
        profile = (props.get("virtualMachineProfile") or {}).get("networkProfile") or {}
        nic_configs = profile.get("networkInterfaceConfigurations") or []
        if not isinstance(nic_configs, list) or not nic_configs:
            raise bad_request(
                # InvalidParameter: ARM's code: azure-docs common-deployment-errors.md
                "InvalidParameter",
                "Required parameter 'networkProfile.networkInterfaceConfigurations' is missing (null).",
                rid,
            )
        old = {i["instanceId"]: i for i in (existing or {}).get("_instances", [])}
        instances = []
        for n in range(capacity):
            instance_id = str(n)
            vm_id = f"{rid}/virtualMachines/{instance_id}"
            was = {nic["name"].lower(): nic for nic in old.get(instance_id, {}).get("nics", [])}
            nics = []
            for nic_config in nic_configs:
                name = nic_config.get("name") if isinstance(nic_config, dict) else None
                if not isinstance(name, str):
                    # InvalidParameter: ARM's code: azure-docs common-deployment-errors.md
                    raise bad_request("InvalidParameter", "Every NIC configuration needs a name.", rid)
                nic_id = f"{vm_id}/networkInterfaces/{name}"
                old_configs = {
                    c["name"].lower(): c
                    for c in was.get(name.lower(), {}).get("properties", {}).get("ipConfigurations", [])
                }
                configs = properties(nic_config).get("ipConfigurations") or []
                built = [
                    build_nic_ipconfig(
                        world, nic_id, c, old_configs.get(str(c.get("name", "")).lower()), i == 0
                    )
                    for i, c in enumerate(configs)
                ]
                nics.append(
                    {
                        "name": name,
                        "id": nic_id,
                        "type": "Microsoft.Network/networkInterfaces",
                        "location": location,
                        "etag": etag(),
                        "properties": {
                            "provisioningState": "Succeeded",
                            "resourceGuid": guid(),
                            "ipConfigurations": built,
                            "primary": bool(properties(nic_config).get("primary", not nics)),
                            "virtualMachine": {"id": vm_id},
                            "enableAcceleratedNetworking": False,
                            "enableIPForwarding": False,
                        },
                    }
                )
            instances.append(
                {
                    "instanceId": instance_id,
                    "vmId": old.get(instance_id, {}).get("vmId") or guid(),
                    "power": old.get(instance_id, {}).get("power", "running"),
                    "nics": nics,
                }
            )
        stored["sku"] = {"name": sku.get("name", "Standard_D2s_v3"), "tier": "Standard", "capacity": capacity}
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "uniqueId": (existing or {}).get("properties", {}).get("uniqueId") or guid(),
            "orchestrationMode": "Uniform",
            "upgradePolicy": props.get("upgradePolicy") or {"mode": "Manual"},
            "virtualMachineProfile": props.get("virtualMachineProfile"),
            "timeCreated": (existing or {}).get("properties", {}).get("timeCreated") or now_iso(),
        }
        stored["_instances"] = instances
        return stored

    def render(self, world: World, stored: Json) -> Json:
        return rendered(stored)

    def check_delete(self, world: World, rid: str) -> None:
        world.require(rid, "virtual machine scale set")

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return [claim for nic in scale_set_nics(stored) for claim in ipconfig_claims(nic)]

    def refs(self, stored: Json) -> list[Ref]:
        out: list[Ref] = []
        for nic in scale_set_nics(stored):
            for config in nic["properties"]["ipConfigurations"]:
                props = config["properties"]
                out.append(("subnet-ipconfig", ids.key(props["subnet"]["id"]), config["id"]))
                for pool in props.get("loadBalancerBackendAddressPools", []):
                    out.append(("pool", ids.key(pool["id"]), config["id"]))
        return out


def scale_set_nics(stored: Json, instance_id: str | None = None) -> list[Json]:
    """The NICs of a scale set's instances (of one instance when ``instance_id`` is given)."""
    return [
        nic
        for instance in stored.get("_instances", [])
        if instance_id is None or instance["instanceId"] == instance_id
        for nic in instance["nics"]
    ]


def scale_set_instance(stored: Json, instance_id: str) -> Json | None:
    return next((i for i in stored.get("_instances", []) if i["instanceId"] == instance_id), None)


def scale_set_nic_config(world: World, config_id: str) -> tuple[Json, Json | None] | None:
    """A scale set NIC's IP configuration by its ID, and the instance it belongs to (for metrics)."""
    parsed = ids.parse(config_id)
    if parsed is None or len(parsed.types) < 3 or parsed.types[0].lower() != "virtualmachinescalesets":
        return None
    stored = world.get(parsed.parent)
    instance = scale_set_instance(stored, parsed.names[1]) if stored else None
    for nic in (instance or {}).get("nics", []):
        for config in nic["properties"]["ipConfigurations"]:
            if ids.key(config["id"]) == ids.key(config_id):
                return config, instance
    return None


def render_scale_set_vm(stored: Json, instance: Json, *, with_view: bool) -> Json:
    """One instance as VirtualMachineScaleSetVMs_Get shows it."""
    vm_id = f"{stored['id']}/virtualMachines/{instance['instanceId']}"
    body: Json = {
        "name": f"{stored['name']}_{instance['instanceId']}",
        "id": vm_id,
        "type": VMSS_VM_TYPE,
        "location": stored["location"],
        "instanceId": instance["instanceId"],
        "sku": {"name": stored["sku"]["name"], "tier": "Standard"},
        "properties": {
            "latestModelApplied": True,
            "vmId": instance["vmId"],
            "provisioningState": "Succeeded",
            "networkProfile": {
                "networkInterfaces": [
                    {"id": nic["id"], "properties": {"primary": nic["properties"]["primary"]}}
                    for nic in instance["nics"]
                ]
            },
        },
    }
    if with_view:
        body["properties"]["instanceView"] = scale_set_vm_view(stored, instance)
    return body


def scale_set_vm_view(stored: Json, instance: Json) -> Json:
    power = instance["power"]
    return {
        "platformUpdateDomain": 0,
        "platformFaultDomain": 0,
        "computerName": f"{stored['name'][:9]}{int(instance['instanceId']):06x}",
        "statuses": [
            {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
            },
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": POWER_NAMES[power]},
        ],
    }


def render_scale_set_nic(nic: Json) -> Json:
    return rendered(nic)


# ------------------------------------------------------------------ extensions
# VM extensions (specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/*/
# virtualMachine.json: VirtualMachineExtensions_CreateOrUpdate/_Get/_Delete/_List). They are kept
# inside the VM (``_extensions``) and shown in its GET as ``resources``, as examples/
# virtualMachineExamples/VirtualMachine_Get.json shows them (shared/reference/azure-compute-examples).
EXTENSION_TYPE = "Microsoft.Compute/virtualMachines/extensions"


def extensions(vm: Json) -> list[Json]:
    return vm.get("_extensions", [])


def extension(vm: Json, name: str) -> Json | None:
    return next((e for e in extensions(vm) if e["name"].lower() == name.lower()), None)


def put_extension(world: World, vm_id: str, name: str, body: Json) -> tuple[Json, bool]:
    """Create or replace an extension; ``publisher``, ``type`` and ``typeHandlerVersion`` are
    required (VirtualMachineExtensionProperties). Returns it and whether it existed."""
    vm = world.editable(vm_id)
    if vm is None or "_power" not in vm:
        # ResourceNotFound: ARM's code: azure-docs common-deployment-errors.md
        raise ArmError(404, "ResourceNotFound", f"The Resource '{vm_id}' was not found.", target=vm_id)
    props = properties(body)
    missing = [k for k in ("publisher", "type", "typeHandlerVersion") if not isinstance(props.get(k), str)]
    if missing:
        raise bad_request(
            # InvalidParameter: ARM's code: azure-docs common-deployment-errors.md
            "InvalidParameter",
            f"Required parameter '{missing[0]}' is missing (null).",
            f"{vm_id}/extensions/{name}",
        )
    old = extension(vm, name)
    ext = {
        "name": old["name"] if old else name,
        "id": old["id"] if old else f"{vm['id']}/extensions/{name}",
        "type": EXTENSION_TYPE,
        "location": vm["location"],
        "tags": body.get("tags") or {},
        "properties": {
            "autoUpgradeMinorVersion": bool(props.get("autoUpgradeMinorVersion", False)),
            "enableAutomaticUpgrade": bool(props.get("enableAutomaticUpgrade", False)),
            "provisioningState": "Succeeded",
            "publisher": props["publisher"],
            "type": props["type"],
            "typeHandlerVersion": props["typeHandlerVersion"],
            "settings": props.get("settings") or {},
        },
    }
    vm["_extensions"] = [e for e in extensions(vm) if e is not old] + [ext]
    world.put(vm)
    return ext, old is not None


def remove_extension(world: World, vm_id: str, name: str) -> None:
    vm = world.editable(vm_id)
    if vm is not None and extension(vm, name) is not None:
        vm["_extensions"] = [e for e in extensions(vm) if e["name"].lower() != name.lower()]
        world.put(vm)


def has_agent(vm: Json, publisher: str) -> bool:
    """Whether an extension of ``publisher`` is provisioned on the VM."""
    return any(
        e["properties"]["publisher"].lower() == publisher.lower()
        and e["properties"]["provisioningState"] == "Succeeded"
        for e in extensions(vm)
    )


def render_vm(stored: Json) -> Json:
    body = rendered(stored)
    if extensions(stored):
        body["resources"] = [rendered(e) for e in extensions(stored)]
    return body


def extension_statuses(stored: Json) -> list[Json]:
    """The instance view's ``extensions``: each handler's type, version and status."""
    return [
        {
            "name": e["name"],
            "type": f"{e['properties']['publisher']}.{e['properties']['type']}",
            "typeHandlerVersion": e["properties"]["typeHandlerVersion"],
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "level": "Info",
                    "displayStatus": "Provisioning succeeded",
                }
            ],
        }
        for e in extensions(stored)
    ]


def primary_ip_config(world: World, vm: Json) -> Json:
    """The primary IP configuration of the VM's primary NIC."""
    nic_id = vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"]
    nic = world.require(nic_id, "network interface")
    configs = nic["properties"]["ipConfigurations"]
    return next((c for c in configs if c["properties"].get("primary")), configs[0])


def ip_config(nic: Json, config_id: str) -> Json | None:
    return next(
        (c for c in nic["properties"]["ipConfigurations"] if c["id"].lower() == config_id.lower()), None
    )
