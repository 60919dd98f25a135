"""Finding a VM by the name a person types: one match, or an error that says why not."""

from __future__ import annotations

import pytest

from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.lookup import unique
from cloud.model import VmInfo
from cloud.vms import find_vm
from sandbox.arm.launch import RunningSandbox
from tests.conftest import TEAM_A, TEAM_B


def test_found_case_insensitively_with_its_network_place(clients: Clients) -> None:
    vm = find_vm(clients, [TEAM_A, TEAM_B], "vm-WIN2019-2")
    assert (vm.name, vm.subscription, vm.resource_group, vm.location) == (
        "VM-Win2019-2",
        TEAM_B,
        "rg-team-b",
        "japaneast",
    )
    assert (vm.ip, vm.vnet_name, vm.power_state) == ("10.2.0.5", "temp-vnet", "running")
    assert vm.nic_id.endswith("/networkInterfaces/vm-win2019-2-nic")
    assert vm.subnet_id.endswith("/virtualNetworks/temp-vnet/subnets/default")
    assert vm.vnet_id.endswith("/virtualNetworks/temp-vnet") and vm.ip_configuration.startswith(vm.nic_id)


def test_not_found_lists_where_it_looked(sandbox: RunningSandbox, clients: Clients) -> None:
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    try:
        with pytest.raises(CloudError) as caught:
            find_vm(clients, [TEAM_A, TEAM_B], "VM-Win2019")
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": True})
    assert caught.value.code == "VmNotFound"
    assert f"subscription {TEAM_A} (not readable)" in caught.value.message
    assert f"subscription {TEAM_B}" in caught.value.message


def test_two_matches_are_ambiguous_and_both_ids_are_named() -> None:
    """The sandbox cannot create VMs (no VM PUT, and generated worlds name VMs uniquely), so the
    rule find_vm applies is tested on two records directly."""
    records = [_vm(TEAM_A, "rg-1"), _vm(TEAM_B, "rg-2")]
    with pytest.raises(CloudError) as caught:
        unique(records, "Vm", "web", lambda v: v.id, [TEAM_A, TEAM_B])
    assert caught.value.code == "AmbiguousVmName"
    assert records[0].id in caught.value.message and records[1].id in caught.value.message
    assert unique(records[:1], "Vm", "web", lambda v: v.id, [TEAM_A]) is records[0]


def _vm(sub: str, group: str) -> VmInfo:
    vm_id = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/web"
    return VmInfo(
        vm_id, "web", sub, group, "japaneast", "nic", "nic/ipConfigurations/ip", None, "s", "v", "v", None
    )


def test_a_mistyped_name_gets_a_did_you_mean(clients: Clients) -> None:
    with pytest.raises(CloudError) as caught:
        find_vm(clients, [TEAM_A, TEAM_B], "vm-win2091")
    assert caught.value.code == "VmNotFound"
    assert "did you mean VM-Win2019 or VM-Win2019-2?" in caught.value.message, caught.value.message


def test_a_name_like_nothing_gets_no_guess(clients: Clients) -> None:
    with pytest.raises(CloudError) as caught:
        find_vm(clients, [TEAM_A, TEAM_B], "database-primary")
    assert "did you mean" not in caught.value.message and "found no VM named" in caught.value.message


def test_did_you_mean_offers_only_the_vms_the_asker_may_use(clients: Clients) -> None:
    """A grant on one resource group: VMs elsewhere in the subscription are never named."""
    with pytest.raises(CloudError) as caught:
        find_vm(clients, [TEAM_A, TEAM_B], "vm-win2091", suggest=lambda vm_id: TEAM_B not in vm_id)
    assert "did you mean VM-Win2019?" in caught.value.message, caught.value.message
