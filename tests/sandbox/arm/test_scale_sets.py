"""A scale set behind an internal load balancer (an AKS node pool), and an IP-based backend pool,
as the real azure-mgmt-compute and azure-mgmt-network clients see them.

The scale set's NICs are served only under the scale set (NetworkInterfaces_ListVirtualMachine
ScaleSetNetworkInterfaces and friends); the subscription's NIC list leaves them out
(Azure/azure-cli#817).
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient

from sandbox.arm.launch import RunningSandbox
from sandbox.arm.seed import scale_set_body
from tests.arm_story import B_RG, B_SUBNET
from tests.conftest import TEAM_B

AKS_LB = f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/loadBalancers/kubernetes-internal"
AKS_FE = f"{AKS_LB}/frontendIPConfigurations/fe"
AKS_POOL = f"{AKS_LB}/backendAddressPools/kubernetes"
VMSS = "aks-nodepool1-vmss"
VMSS_ID = f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{VMSS}"
VNET = f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/virtualNetworks/temp-vnet"


def aks_lb_body(pool: dict | None = None, port: int = 8080) -> dict:
    """The internal LB AKS makes for a ``service.beta.kubernetes.io/azure-load-balancer-internal`` service."""
    return {
        "location": "japaneast",
        "sku": {"name": "Standard"},
        "properties": {
            "frontendIPConfigurations": [{"name": "fe", "properties": {"subnet": {"id": B_SUBNET}}}],
            "backendAddressPools": [pool or {"name": "kubernetes"}],
            "probes": [{"name": "http", "properties": {"protocol": "Tcp", "port": port}}],
            "loadBalancingRules": [
                {
                    "name": f"tcp-{port}",
                    "properties": {
                        "protocol": "Tcp",
                        "frontendPort": port,
                        "backendPort": port,
                        "frontendIPConfiguration": {"id": AKS_FE},
                        "backendAddressPool": {"id": AKS_POOL},
                        "probe": {"id": f"{AKS_LB}/probes/http"},
                    },
                }
            ],
        },
    }


def build_aks(net_b: NetworkManagementClient, compute_b: ComputeManagementClient) -> None:
    """The internal LB, then a scale set of two instances whose NICs join its pool (as AKS does)."""
    net_b.load_balancers.begin_create_or_update(B_RG, "kubernetes-internal", aks_lb_body()).result()
    compute_b.virtual_machine_scale_sets.begin_create_or_update(
        B_RG, VMSS, scale_set_body(B_SUBNET, [AKS_POOL])
    ).result()


def build_ip_pool(net_b: NetworkManagementClient, ips: tuple[str, ...] = ("10.2.0.40", "10.2.0.41")) -> None:
    pool = {
        "name": "kubernetes",
        "properties": {
            "loadBalancerBackendAddresses": [
                {"name": f"pod-{i}", "properties": {"ipAddress": ip, "virtualNetwork": {"id": VNET}}}
                for i, ip in enumerate(ips)
            ]
        },
    }
    net_b.load_balancers.begin_create_or_update(B_RG, "kubernetes-internal", aks_lb_body(pool)).result()


def test_the_scale_sets_nics_are_served_under_it_and_left_out_of_the_subscription_list(
    net_b: NetworkManagementClient, compute_b: ComputeManagementClient
) -> None:
    build_aks(net_b, compute_b)
    nics = list(net_b.network_interfaces.list_virtual_machine_scale_set_network_interfaces(B_RG, VMSS))
    assert [n.id for n in nics] == [
        f"{VMSS_ID}/virtualMachines/{i}/networkInterfaces/aks-nodepool1-nic" for i in ("0", "1")
    ]
    assert [n.virtual_machine.id for n in nics] == [f"{VMSS_ID}/virtualMachines/{i}" for i in ("0", "1")]
    assert [n.ip_configurations[0].private_ip_address for n in nics] == ["10.2.0.6", "10.2.0.7"]
    listed = {n.id.lower() for n in net_b.network_interfaces.list_all()}
    assert not listed & {n.id.lower() for n in nics}, "azure-cli#817: list_all omits scale set NICs"
    one = net_b.network_interfaces.get_virtual_machine_scale_set_network_interface(
        B_RG, VMSS, "1", "aks-nodepool1-nic"
    )
    assert one.id == nics[1].id
    assert [
        n.id
        for n in net_b.network_interfaces.list_virtual_machine_scale_set_vm_network_interfaces(
            B_RG, VMSS, "0"
        )
    ] == [nics[0].id]
    with pytest.raises(ResourceNotFoundError):
        net_b.network_interfaces.get_virtual_machine_scale_set_network_interface(
            B_RG, VMSS, "7", "aks-nodepool1-nic"
        )


def test_the_pool_points_at_the_instances_ipconfigs(
    net_b: NetworkManagementClient, compute_b: ComputeManagementClient
) -> None:
    build_aks(net_b, compute_b)
    pool = net_b.load_balancer_backend_address_pools.get(B_RG, "kubernetes-internal", "kubernetes")
    assert [c.id for c in pool.backend_ip_configurations] == [
        f"{VMSS_ID}/virtualMachines/{i}/networkInterfaces/aks-nodepool1-nic/ipConfigurations/ipconfig1"
        for i in ("0", "1")
    ]
    with pytest.raises(HttpResponseError) as caught:
        net_b.load_balancers.begin_delete(B_RG, "kubernetes-internal").result()
    assert caught.value.status_code == 400, "a pool the scale set's NICs are in keeps its load balancer"


def test_instances_and_their_power_state(
    sandbox: RunningSandbox, net_b: NetworkManagementClient, compute_b: ComputeManagementClient
) -> None:
    build_aks(net_b, compute_b)
    sandbox.control("POST", "power", {"vm": f"{VMSS_ID}/virtualMachines/1", "state": "stopped"})
    vms = list(compute_b.virtual_machine_scale_set_vms.list(B_RG, VMSS, expand="instanceView"))
    assert [(vm.name, vm.instance_id) for vm in vms] == [(f"{VMSS}_0", "0"), (f"{VMSS}_1", "1")]
    codes = [[s.code for s in vm.instance_view.statuses] for vm in vms]
    assert [c[-1] for c in codes] == ["PowerState/running", "PowerState/stopped"]
    view = compute_b.virtual_machine_scale_set_vms.get_instance_view(B_RG, VMSS, "1")
    assert view.statuses[-1].code == "PowerState/stopped"
    assert compute_b.virtual_machine_scale_sets.get(B_RG, VMSS).sku.capacity == 2
    assert VMSS not in {vm.name for vm in compute_b.virtual_machines.list_all()}


def test_an_ip_based_pool_keeps_its_addresses_and_vnet(net_b: NetworkManagementClient) -> None:
    build_ip_pool(net_b)
    pool = net_b.load_balancer_backend_address_pools.get(B_RG, "kubernetes-internal", "kubernetes")
    assert [(a.ip_address, a.virtual_network.id) for a in pool.load_balancer_backend_addresses] == [
        ("10.2.0.40", VNET),
        ("10.2.0.41", VNET),
    ]
    assert not pool.backend_ip_configurations
    bad = aks_lb_body(
        {
            "name": "kubernetes",
            "properties": {
                "loadBalancerBackendAddresses": [
                    {
                        "name": "x",
                        "properties": {"ipAddress": "10.2.0.40", "virtualNetwork": {"id": VNET + "-nope"}},
                    }
                ]
            },
        }
    )
    with pytest.raises(HttpResponseError) as caught:
        net_b.load_balancers.begin_create_or_update(B_RG, "kubernetes-internal", bad).result()
    assert caught.value.status_code == 400
