"""A private link service in front of inbound NAT rules: the seed's own LB-temp, and version 2 rules.

Pure conversion of the REST JSON shapes in loadBalancer.json (2024-05-01): a version 1 rule carries
the ``backendIPConfiguration`` Azure fills from the NIC that names it; a version 2 rule targets a
pool, and each pool address lists its port in ``inboundNatRulesPortMapping``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cloud.convert import Resources, endpoint, service
from cloud.health import Level, service_health
from cloud.mapping import mappings
from cloud.model import Snapshot
from commands.describe import exposed_lines, mapping_row
from commands.usecases.status import MAP_COLUMNS, _map_row

SUB = "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/RG-temp/providers/Microsoft.Network"
LB = f"{SUB}/loadBalancers/LB-temp"
FE = f"{LB}/frontendIPConfigurations/fe"
POOL = f"{LB}/backendAddressPools/pool"
NIC = f"{SUB}/networkInterfaces/vm-win2019-2-nic"
CONFIG = f"{NIC}/ipConfigurations/ipconfig1"
VM = "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/RG-temp/providers/Microsoft.Compute/virtualMachines/VM-Win2019-2"
PLS = f"{SUB}/privateLinkServices/PrivateLink-01"
PE = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/RG-normal/providers/Microsoft.Network/privateEndpoints/pe-rdp"


def _lb(
    nat_rules: list[dict[str, Any]], pool_addresses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "id": POOL,
        "name": "pool",
        "properties": {"backendIPConfigurations": [{"id": CONFIG}]},
    }
    if pool_addresses is not None:
        pool["properties"]["loadBalancerBackendAddresses"] = pool_addresses
    return {
        "id": LB,
        "name": "LB-temp",
        "properties": {
            "frontendIPConfigurations": [
                {"id": FE, "name": "fe", "properties": {"privateIPAddress": "10.2.0.4"}}
            ],
            "backendAddressPools": [pool],
            "loadBalancingRules": [],
            "inboundNatRules": nat_rules,
        },
    }


def _nic(nat_rule_ids: list[str]) -> dict[str, Any]:
    return {
        "id": NIC,
        "properties": {
            "virtualMachine": {"id": VM},
            "ipConfigurations": [
                {
                    "id": CONFIG,
                    "properties": {
                        "privateIPAddress": "10.2.0.5",
                        "primary": True,
                        "subnet": {"id": f"{SUB}/virtualNetworks/temp-vnet/subnets/default"},
                        "loadBalancerBackendAddressPools": [{"id": POOL}],
                        "loadBalancerInboundNatRules": [{"id": r} for r in nat_rule_ids],
                    },
                }
            ],
        },
    }


def _pls() -> dict[str, Any]:
    return {
        "id": PLS,
        "name": "PrivateLink-01",
        "location": "japaneast",
        "properties": {
            "alias": "privatelink-01.guid.japaneast.azure.privatelinkservice",
            "loadBalancerFrontendIpConfigurations": [{"id": FE}],
            "ipConfigurations": [{"name": "nat", "properties": {"privateIPAddress": "10.2.0.6"}}],
            "privateEndpointConnections": [
                {
                    "id": f"{PLS}/privateEndpointConnections/pe-rdp.1",
                    "name": "pe-rdp.1",
                    "properties": {
                        "privateEndpoint": {"id": PE},
                        "privateLinkServiceConnectionState": {"status": "Approved", "description": "ok"},
                    },
                }
            ],
        },
    }


def _pe() -> dict[str, Any]:
    return {
        "id": PE,
        "name": "pe-rdp",
        "properties": {
            "subnet": {
                "id": "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/RG-normal/providers/Microsoft.Network/virtualNetworks/RG-normal-vnet/subnets/default"
            },
            "ipConfigurations": [{"properties": {"privateIPAddress": "10.0.0.5"}}],
            "manualPrivateLinkServiceConnections": [
                {
                    "properties": {
                        "privateLinkServiceId": PLS,
                        "privateLinkServiceConnectionState": {"status": "Approved"},
                    }
                }
            ],
        },
    }


V1_RULE = {
    "id": f"{LB}/inboundNatRules/RDP",
    "name": "RDP",
    "properties": {
        "frontendIPConfiguration": {"id": FE},
        "backendIPConfiguration": {"id": CONFIG},
        "protocol": "Tcp",
        "frontendPort": 3389,
        "backendPort": 3389,
    },
}
V2_RULE = {
    "id": f"{LB}/inboundNatRules/RDP-pool",
    "name": "RDP-pool",
    "properties": {
        "frontendIPConfiguration": {"id": FE},
        "backendAddressPool": {"id": POOL},
        "protocol": "Tcp",
        "frontendPort": 0,
        "frontendPortRangeStart": 50000,
        "frontendPortRangeEnd": 50009,
        "backendPort": 3389,
    },
}


def _snapshot(lb: dict[str, Any], nic: dict[str, Any], power: str = "running") -> Snapshot:
    resources = Resources.index(nics=[nic], load_balancers=[lb], endpoints=[_pe()], power={VM: power})
    return Snapshot(None, (), (service(_pls(), resources),), (endpoint(_pe(), resources),), ())  # type: ignore[arg-type]


def test_the_seeds_rdp_nat_rule_maps_end_to_end() -> None:
    """The issue's reproduction: 'ports ?', 'Backends: none' and a map of 'not visible' and '?:?'."""
    taken = _snapshot(_lb([V1_RULE]), _nic([V1_RULE["id"]]))
    (pls,) = taken.services
    assert pls.ports == ((3389, 3389),) and pls.load_balancer == "LB-temp"
    (backend,) = pls.backends
    assert (backend.vm_name, backend.ip, backend.port, backend.via) == (
        "VM-Win2019-2",
        "10.2.0.5",
        3389,
        "NAT rule RDP",
    )
    (row,) = mappings(taken)
    assert mapping_row(row) == (
        "*PrivateLink-01* Approved: consumer → 10.0.0.5:3389 ⇒ NAT 10.2.0.6 → LB-temp 10.2.0.4:3389 (NAT rule RDP) → "
        "VM-Win2019-2 10.2.0.5:3389 (sees 10.2.0.6)"
    )
    lines = exposed_lines(pls)
    assert "Frontend 10.2.0.4, ports 3389 (NAT rule RDP)" in lines[1]
    assert lines[2] == "Backends: VM-Win2019-2 10.2.0.5:3389 (running)"


def test_a_nat_rule_has_no_probe_so_health_says_it_judged_by_power_state() -> None:
    healthy = service_health(_snapshot(_lb([V1_RULE]), _nic([V1_RULE["id"]])).services[0])
    assert healthy.level is Level.OK
    assert "NAT rule RDP: no health probe, judged by the VM's power state" in healthy.reason
    stopped = service_health(_snapshot(_lb([V1_RULE]), _nic([V1_RULE["id"]]), "stopped").services[0])
    assert stopped.level is Level.DOWN and "VM-Win2019-2 is stopped" in stopped.reason


def test_a_version_2_rule_reaches_each_member_on_the_port_azure_gave_it() -> None:
    address = {
        "name": "member-1",
        "properties": {
            "networkInterfaceIPConfiguration": {"id": CONFIG},
            "inboundNatRulesPortMapping": [
                {"inboundNatRuleName": "RDP-pool", "frontendPort": 50003, "backendPort": 3389}
            ],
        },
    }
    taken = _snapshot(_lb([V2_RULE], [address]), _nic([]))
    (pls,) = taken.services
    assert pls.ports == ((50003, 3389),)
    (row,) = mappings(taken)
    assert (row.port, row.backend_vm, row.via, row.consumer_destination) == (
        50003,
        "VM-Win2019-2",
        "NAT rule RDP-pool",
        "10.0.0.5:50003",
    )


def test_a_version_2_port_azure_did_not_give_is_unknown_not_guessed() -> None:
    taken = _snapshot(_lb([V2_RULE], []), _nic([]))
    (pls,) = taken.services
    assert pls.ports == () and exposed_lines(pls)[1].startswith(
        "Frontend 10.2.0.4, ports ? (NAT rule RDP-pool)"
    )
    (row,) = mappings(taken)
    assert row.port is None and row.consumer_destination == "10.0.0.5:?"
    assert "10.0.0.5:?" in mapping_row(row) and "not visible" not in mapping_row(row)


def test_a_frontend_with_no_rule_at_all_is_down_and_says_so() -> None:
    taken = _snapshot(_lb([]), _nic([]))
    health = service_health(taken.services[0])
    assert health.level is Level.DOWN
    assert health.reason == "no load-balancing or inbound NAT rule on the service's frontend"
    (row,) = mappings(taken)
    assert "→ 10.0.0.5:? ⇒" in mapping_row(row)


def test_a_map_row_links_the_service_and_endpoint_and_its_csv_row_every_resource() -> None:
    """Issue 12: with all five names linked a map page held 9 rows; the row links the two Private
    Link resources and leaves the VMs and load balancer plain, and the CSV row carries them all."""
    (row,) = mappings(_snapshot(_lb([V1_RULE]), _nic([V1_RULE["id"]])))
    sub = "/subscriptions/s/resourceGroups/g/providers"
    row = replace(
        row,
        consumer_vm="VM-A",
        consumer_vm_id=f"{sub}/Microsoft.Compute/virtualMachines/VM-A",
        endpoint_id=f"{sub}/Microsoft.Network/privateEndpoints/pe-a",
        load_balancer_id=f"{sub}/Microsoft.Network/loadBalancers/LB-temp",
        backend_vm_id=f"{sub}/Microsoft.Compute/virtualMachines/VM-Win2019-2",
    )
    home = "https://portal.azure.com/#@t"
    text = mapping_row(row, home)
    assert text.count("<https://portal.azure.com/") == 2 and "privateEndpoints/pe-a|10.0.0.5:3389>" in text
    assert f"* Approved: VM-A {row.consumer_source_ip} → <" in text and "→ LB-temp 10.2.0.4:3389" in text
    cells = dict(zip(MAP_COLUMNS, _map_row(home, row), strict=True))
    assert cells["consumer_vm_portal"] == f"{home}/resource{row.consumer_vm_id}"
    assert cells["load_balancer_portal"] == f"{home}/resource{row.load_balancer_id}"
    assert cells["backend_vm_portal"] == f"{home}/resource{row.backend_vm_id}"
