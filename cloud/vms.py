"""Find a VM by the name a person types, across natlink's subscriptions, with its network place.

One list call per subscription (with power state) and one NIC read, however many VMs exist:
cheaper and more predictable than probing resource groups one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from azure.core.exceptions import AzureError, HttpResponseError
from azure.mgmt.compute.models import VirtualMachine
from azure.mgmt.network.models import NetworkInterface

from . import convert, ids
from .clients import Clients
from .errors import CloudError
from .lookup import get_or_none, unique
from .model import VmInfo

_UNREADABLE = {401, 403}


def find_vm(
    clients: Clients,
    subscriptions: Iterable[str],
    name: str,
    suggest: Callable[[str], bool] = lambda vm_id: True,
) -> VmInfo:
    """The VM called ``name`` (case-insensitive) in ``subscriptions``.

    Raises ``AmbiguousVmName`` listing every match, or ``VmNotFound`` listing where it looked and,
    for a mistyped name, the near names among the VMs whose ID ``suggest`` allows (a person is
    never told the names of VMs they may not use); a subscription natlink may not read is skipped
    and named as such.
    """
    matches: list[tuple[str, VirtualMachine]] = []
    looked_in: list[str] = []
    known: list[str] = []
    for sub in dict.fromkeys(s.lower() for s in subscriptions):
        try:
            vms = list(clients.compute(sub).virtual_machines.list_all(status_only="true"))
        except HttpResponseError as exc:
            if exc.status_code not in _UNREADABLE:
                raise CloudError.from_azure(exc, f"/subscriptions/{sub}") from exc
            looked_in.append(f"subscription {sub} (not readable)")
            continue
        except AzureError as exc:
            raise CloudError.from_azure(exc, f"/subscriptions/{sub}") from exc
        looked_in.append(f"subscription {sub}")
        known += [vm.name or "" for vm in vms if suggest(vm.id or "")]
        matches += [(sub, vm) for vm in vms if (vm.name or "").lower() == name.lower()]
    sub, vm = unique(matches, "Vm", name, lambda m: m[1].id, looked_in, known)
    return vm_info(clients, sub, vm)


def vm_info(clients: Clients, subscription: str, vm: VirtualMachine) -> VmInfo:
    """Where ``vm`` sits: its primary NIC's primary IP configuration, subnet and VNet."""
    nic_refs = vm.network_profile.network_interfaces if vm.network_profile else None
    if not nic_refs:
        # VmHasNoNetworkInterface: natlink's own code
        raise CloudError("VmHasNoNetworkInterface", f"VM {vm.id} has no network interface.", vm.id)
    nic_id = next((n.id for n in nic_refs if n.primary), nic_refs[0].id)
    _, group, nic_name = ids.network_path(nic_id)
    try:
        nic = clients.network(subscription).network_interfaces.get(group, nic_name)
    except AzureError as exc:
        raise CloudError.from_azure(exc, nic_id) from exc
    config = next((c for c in nic.ip_configurations or [] if c.primary), (nic.ip_configurations or [None])[0])
    if config is None or config.subnet is None:
        raise CloudError(
            # VmHasNoSubnet: natlink's own code
            "VmHasNoSubnet",
            f"The network interface {nic_id} of VM {vm.id} is in no subnet.",
            vm.id,
        )
    vnet_id = ids.parent(config.subnet.id)
    statuses = vm.instance_view.statuses if vm.instance_view else []
    return VmInfo(
        id=vm.id,
        name=vm.name,
        subscription=subscription,
        resource_group=ids.segment(vm.id, "resourceGroups") or "",
        location=vm.location,
        nic_id=nic.id,
        ip_configuration=config.id,
        ip=config.private_ip_address,
        subnet_id=config.subnet.id,
        vnet_name=ids.name(vnet_id) or "",
        vnet_id=vnet_id,
        power_state=convert.power_state(statuses or []),
    )


def scale_set_nic(clients: Clients, nic_id: str) -> NetworkInterface | None:
    """A scale set instance's NIC (``.../virtualMachineScaleSets/{vmss}/virtualMachines/{i}/
    networkInterfaces/{nic}``), read through the scale set's NIC API: the plain NIC GET does not
    serve it (Azure/azure-cli#817). ``None`` when it is gone."""
    sub, group, vmss, instance = _scale_set_path(nic_id)
    network = clients.network(sub).network_interfaces
    return get_or_none(
        network.get_virtual_machine_scale_set_network_interface, group, vmss, instance, ids.name(nic_id)
    )


def scale_set_power(clients: Clients, vm_id: str) -> str | None:
    """A scale set instance's power state, from its instance view; ``None`` when it cannot be read."""
    sub, group, vmss, instance = _scale_set_path(vm_id)
    vms = clients.compute(sub).virtual_machine_scale_set_vms
    view = get_or_none(vms.get_instance_view, group, vmss, instance)
    return convert.power_state(view.statuses or []) if view is not None else None


def _scale_set_path(resource_id: str) -> tuple[str, str, str, str]:
    where, instance = convert.scale_set_of(resource_id), ids.segment(resource_id, "virtualMachines")
    if where is None or instance is None:
        raise ValueError(f"not a scale set instance's ID: {resource_id!r}")
    return (*where, instance)
