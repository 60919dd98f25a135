"""The seed story's steps as plain SDK calls, shared by the sandbox tests."""

from __future__ import annotations

from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import PrivateLinkService

from tests.conftest import TEAM_A, TEAM_B

B_RG, A_RG = "rg-team-b", "rg-team-a"
B_SUBNET = f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/virtualNetworks/temp-vnet/subnets/default"
A_SUBNET = f"/subscriptions/{TEAM_A}/resourceGroups/{A_RG}/providers/Microsoft.Network/virtualNetworks/RG-normal-vnet/subnets/default"
LB_ID = f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/loadBalancers/lb-rdp"
FRONTEND = f"{LB_ID}/frontendIPConfigurations/fe"
POOL = f"{LB_ID}/backendAddressPools/pool"


def lb_body(sku: str = "Standard", frontend: dict | None = None) -> dict:
    return {
        "location": "japaneast",
        "sku": {"name": sku},
        "properties": {
            "frontendIPConfigurations": [
                {"name": "fe", "properties": frontend or {"subnet": {"id": B_SUBNET}}}
            ],
            "backendAddressPools": [{"name": "pool"}],
            "probes": [{"name": "rdp", "properties": {"protocol": "Tcp", "port": 3389}}],
            "loadBalancingRules": [
                {
                    "name": "tcp-3389",
                    "properties": {
                        "protocol": "Tcp",
                        "frontendPort": 3389,
                        "backendPort": 3389,
                        "frontendIPConfiguration": {"id": FRONTEND},
                        "backendAddressPool": {"id": POOL},
                        "probe": {"id": f"{LB_ID}/probes/rdp"},
                    },
                }
            ],
        },
    }


def create_lb(net_b: NetworkManagementClient, name: str = "lb-rdp", sku: str = "Standard"):
    lb = net_b.load_balancers.begin_create_or_update(B_RG, name, lb_body(sku)).result()
    nic = net_b.network_interfaces.get(B_RG, "vm-win2019-2-nic")
    nic.ip_configurations[0].load_balancer_backend_address_pools = [{"id": POOL}]
    net_b.network_interfaces.begin_create_or_update(B_RG, "vm-win2019-2-nic", nic).result()
    return lb


def disable_pls_policies(net_b: NetworkManagementClient) -> None:
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    subnet.private_link_service_network_policies = "Disabled"
    net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet).result()


def pls_body(nat_ips: int = 1, visibility: list[str] | None = None, auto: list[str] | None = None) -> dict:
    return {
        "location": "japaneast",
        "properties": {
            "visibility": {"subscriptions": visibility if visibility is not None else [TEAM_A]},
            "autoApproval": {"subscriptions": auto or []},
            "fqdns": ["rdp.team-b.example"],
            "loadBalancerFrontendIpConfigurations": [{"id": FRONTEND}],
            "ipConfigurations": [
                {"name": f"nat{i}", "properties": {"subnet": {"id": B_SUBNET}, "primary": i == 0}}
                for i in range(nat_ips)
            ],
        },
    }


def expose(net_b: NetworkManagementClient, **pls_kwargs) -> PrivateLinkService:
    create_lb(net_b)
    disable_pls_policies(net_b)
    return net_b.private_link_services.begin_create_or_update(
        B_RG, "pls-rdp", pls_body(**pls_kwargs)
    ).result()


def pe_body(target: str, message: str = "natlink request", manual: bool = True) -> dict:
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    return {
        "location": "japaneast",
        "properties": {
            "subnet": {"id": A_SUBNET},
            key: [
                {"name": "to-rdp", "properties": {"privateLinkServiceId": target, "requestMessage": message}}
            ],
        },
    }
