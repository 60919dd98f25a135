"""Inbound NAT rules on the ARM stand-in, judged by the real azure-mgmt-network SDK (issue 15).

Version 1 rules forward one frontend port to one NIC IP configuration, linked from the NIC side;
version 2 rules give every member of a backend pool a port of a frontend port range, which the
port-mapping query (a long-running POST) reports. Each refusal is the SDK's HttpResponseError
with the code the stand-in names in sandbox/arm.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import (
    NetworkInterfaceIPConfiguration,
    QueryInboundNatRulePortMappingRequest,
    SubResource,
)

from tests.arm_story import B_RG, B_SUBNET, FRONTEND, LB_ID, POOL, create_lb, lb_body
from tests.sandbox.arm.test_validation import refused

NIC = "vm-win2019-2-nic"
VNET = B_SUBNET.rsplit("/subnets/", 1)[0]


def nat_v1(name: str, port: int, backend: int = 3389, protocol: str = "Tcp") -> dict[str, Any]:
    return {
        "name": name,
        "properties": {
            "protocol": protocol,
            "frontendPort": port,
            "backendPort": backend,
            "frontendIPConfiguration": {"id": FRONTEND},
        },
    }


def nat_v2(name: str, start: int, end: int, backend: int = 22, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {
            "protocol": "Tcp",
            "frontendPortRangeStart": start,
            "frontendPortRangeEnd": end,
            "backendPort": backend,
            "frontendIPConfiguration": {"id": FRONTEND},
            "backendAddressPool": {"id": POOL},
            **extra,
        },
    }


def put_lb(net_b: NetworkManagementClient, *nat_rules: dict[str, Any], body: dict | None = None) -> Any:
    body = body or lb_body()
    body["properties"]["inboundNatRules"] = list(nat_rules)
    return net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", body).result()


def link_nic(net_b: NetworkManagementClient, *rule_names: str, nic: str = NIC) -> Any:
    interface = net_b.network_interfaces.get(B_RG, nic)
    interface.ip_configurations[0].load_balancer_inbound_nat_rules = [
        {"id": f"{LB_ID}/inboundNatRules/{n}"} for n in rule_names
    ]
    return net_b.network_interfaces.begin_create_or_update(B_RG, nic, interface).result()


def ip_pool(*addresses: str) -> dict[str, Any]:
    """``lb_body`` with an IP-based pool of ``addresses`` in temp-vnet."""
    body = lb_body()
    body["properties"]["backendAddressPools"] = [
        {
            "name": "pool",
            "properties": {
                "loadBalancerBackendAddresses": [
                    {"name": f"addr{i}", "properties": {"ipAddress": a, "virtualNetwork": {"id": VNET}}}
                    for i, a in enumerate(addresses)
                ]
            },
        }
    ]
    return body


def second_nic(config: dict[str, Any]) -> dict[str, Any]:
    """A second NIC in temp-vnet/default whose one IP configuration also has ``config``."""
    props = {"subnet": {"id": B_SUBNET}, **config}
    return {
        "location": "japaneast",
        "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": props}]},
    }


def mappings(net_b: NetworkManagementClient, **query: Any) -> list[tuple[str, str, int, int]]:
    poller = net_b.load_balancers.begin_list_inbound_nat_rule_port_mappings(
        B_RG, "lb-rdp", "pool", QueryInboundNatRulePortMappingRequest(**query)
    )
    return [
        (m.inbound_nat_rule_name, m.protocol, m.frontend_port, m.backend_port)
        for m in poller.result().inbound_nat_rule_port_mappings
    ]


# ------------------------------------------------------------------ version 1
def test_v1_rule_shows_its_backend_ip_configuration_and_the_nic_keeps_the_ref(net_b) -> None:
    put_lb(net_b, nat_v1("rdp-direct", 50001))
    nic = link_nic(net_b, "rdp-direct")
    config_id = nic.ip_configurations[0].id
    assert [r.id for r in nic.ip_configurations[0].load_balancer_inbound_nat_rules] == [
        f"{LB_ID}/inboundNatRules/rdp-direct"
    ]
    rule = net_b.load_balancers.get(B_RG, "lb-rdp").inbound_nat_rules[0]
    assert rule.backend_ip_configuration.id == config_id
    assert rule.frontend_port == 50001 and rule.backend_address_pool is None
    assert net_b.inbound_nat_rules.get(B_RG, "lb-rdp", "rdp-direct").backend_ip_configuration.id == config_id
    again = net_b.network_interfaces.get(B_RG, NIC).ip_configurations[0]
    assert [r.id for r in again.load_balancer_inbound_nat_rules] == [f"{LB_ID}/inboundNatRules/rdp-direct"]


def test_a_read_only_backend_ip_configuration_sent_back_is_ignored(net_b) -> None:
    """A read-modify-write that sends GET's body back as bytes, read-only fields and all."""
    put_lb(net_b, nat_v1("rdp-direct", 50001))
    config_id = link_nic(net_b, "rdp-direct").ip_configurations[0].id
    raw = net_b.load_balancers.get(B_RG, "lb-rdp", cls=lambda response, *_: response.http_response.json())
    rule = raw["properties"]["inboundNatRules"][0]["properties"]
    assert rule["backendIPConfiguration"] == {"id": config_id}
    rule["backendIPConfiguration"] = {
        "id": f"{B_SUBNET.split('/providers/')[0]}/providers/Microsoft.Network/networkInterfaces/x/ipConfigurations/y"
    }
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", io.BytesIO(json.dumps(raw).encode())).result()
    assert (
        net_b.load_balancers.get(B_RG, "lb-rdp").inbound_nat_rules[0].backend_ip_configuration.id == config_id
    )


def test_removing_a_referenced_rule_is_refused(net_b) -> None:
    put_lb(net_b, nat_v1("rdp-direct", 50001))
    link_nic(net_b, "rdp-direct")
    assert refused(lambda: put_lb(net_b)) == (400, "InUseInboundNatRuleCannotBeDeleted")
    assert refused(lambda: net_b.inbound_nat_rules.begin_delete(B_RG, "lb-rdp", "rdp-direct").result()) == (
        400,
        "InUseInboundNatRuleCannotBeDeleted",
    )
    assert refused(lambda: net_b.load_balancers.begin_delete(B_RG, "lb-rdp").result()) == (
        400,
        "InUseInboundNatRuleCannotBeDeleted",
    )
    assert [r.name for r in net_b.load_balancers.get(B_RG, "lb-rdp").inbound_nat_rules] == ["rdp-direct"]
    link_nic(net_b)  # the NIC lets go; now the rule can go
    net_b.inbound_nat_rules.begin_delete(B_RG, "lb-rdp", "rdp-direct").result()
    assert net_b.load_balancers.get(B_RG, "lb-rdp").inbound_nat_rules == []


def test_nic_refs_to_missing_taken_or_v2_rules_are_refused(net_b) -> None:
    create_lb(net_b)  # the NIC sits in the pool, behind the load-balancing rule's backend port 3389
    put_lb(net_b, nat_v1("rdp-direct", 50001, backend=3390), nat_v2("ssh", 50100, 50109))
    assert refused(lambda: link_nic(net_b, "nope")) == (400, "InvalidResourceReference")
    assert refused(lambda: link_nic(net_b, "ssh")) == (
        400,
        "InboundNatRuleV2CannotBeReferencedByNetworkInterface",
    )
    link_nic(net_b, "rdp-direct")
    other = second_nic({"loadBalancerInboundNatRules": [{"id": f"{LB_ID}/inboundNatRules/rdp-direct"}]})
    assert refused(
        lambda: net_b.network_interfaces.begin_create_or_update(B_RG, "nic-two", other).result()
    ) == (
        400,
        "InboundNatRuleInUseByAnotherIpConfiguration",
    )
    nic = net_b.network_interfaces.get(B_RG, NIC)
    nic.ip_configurations.append(
        NetworkInterfaceIPConfiguration(
            name="second",
            subnet=nic.ip_configurations[0].subnet,
            load_balancer_inbound_nat_rules=[SubResource(id=f"{LB_ID}/inboundNatRules/rdp-direct")],
        )
    )
    assert refused(lambda: net_b.network_interfaces.begin_create_or_update(B_RG, NIC, nic).result()) == (
        400,
        "InboundNatRuleInUseByAnotherIpConfiguration",
    )


def test_rules_sharing_a_backend_port_on_one_ip_configuration_are_refused(net_b) -> None:
    """A v1 NAT rule and another rule of the LB with floating IP off may not send one protocol and
    backend port to one IP configuration (hashicorp/terraform-provider-azurerm#84)."""
    create_lb(net_b)  # the NIC is in the pool of load-balancing rule tcp-3389 (backend port 3389)
    put_lb(net_b, nat_v1("rdp-direct", 50001), nat_v1("rdp-other", 50002, backend=3390), body=lb_body())
    code = "RulesUseSameBackendPortProtocolAndIPConfig"
    assert refused(lambda: link_nic(net_b, "rdp-direct")) == (400, code)
    link_nic(net_b, "rdp-other")  # another backend port is fine
    assert refused(lambda: put_lb(net_b, nat_v1("rdp-direct", 50001), nat_v1("rdp-other", 50002))) == (
        400,
        code,
    )
    floating = nat_v1("rdp-other", 50002)
    floating["properties"]["enableFloatingIP"] = True
    put_lb(net_b, nat_v1("rdp-direct", 50001), floating, body=lb_body())  # floating IP lifts the rule


def test_a_referenced_rule_cannot_become_v2(net_b) -> None:
    put_lb(net_b, nat_v1("rdp-direct", 50001))
    link_nic(net_b, "rdp-direct")
    status_code = refused(lambda: put_lb(net_b, nat_v2("rdp-direct", 50100, 50109)))
    assert status_code == (400, "InboundNatRuleV2CannotBeReferencedByNetworkInterface")


def test_child_put_creates_a_rule_as_az_network_lb_inbound_nat_rule_create(net_b) -> None:
    put_lb(net_b)
    rule = net_b.inbound_nat_rules.begin_create_or_update(
        B_RG, "lb-rdp", "rdp-direct", nat_v1("rdp-direct", 50001)
    ).result()
    assert rule.frontend_port == 50001 and rule.provisioning_state == "Succeeded"
    assert [r.name for r in net_b.inbound_nat_rules.list(B_RG, "lb-rdp")] == ["rdp-direct"]
    assert refused(
        lambda: net_b.inbound_nat_rules.begin_create_or_update(
            B_RG, "lb-rdp", "other", nat_v1("other", 50001)
        ).result()
    ) == (400, "InboundNatRulesUseSameFrontendIpAndPort")


# ------------------------------------------------------------------ version 2
def test_v2_port_mapping_per_pool_member(net_b) -> None:
    put_lb(net_b, nat_v2("ssh", 50100, 50109), body=ip_pool("10.2.0.7", "10.2.0.6"))
    assert mappings(net_b, ip_address="10.2.0.6") == [("ssh", "Tcp", 50100, 22)]
    assert mappings(net_b, ip_address="10.2.0.7") == [("ssh", "Tcp", 50101, 22)]
    rule = net_b.load_balancers.get(B_RG, "lb-rdp").inbound_nat_rules[0]
    assert (rule.frontend_port, rule.frontend_port_range_start, rule.frontend_port_range_end) == (
        0,
        50100,
        50109,
    )
    assert rule.backend_address_pool.id == POOL and rule.backend_ip_configuration is None
    pool = net_b.load_balancers.get(B_RG, "lb-rdp").backend_address_pools[0]
    shown = {
        a.ip_address: [(m.inbound_nat_rule_name, m.frontend_port) for m in a.inbound_nat_rules_port_mapping]
        for a in pool.load_balancer_backend_addresses
    }
    assert shown == {"10.2.0.6": [("ssh", 50100)], "10.2.0.7": [("ssh", 50101)]}
    assert [r.id for r in pool.inbound_nat_rules] == [f"{LB_ID}/inboundNatRules/ssh"]


def test_v2_port_mapping_for_a_nic_member(net_b) -> None:
    create_lb(net_b)
    put_lb(net_b, nat_v2("ssh", 50100, 50109), nat_v2("rdp", 50200, 50209, backend=3389))
    config = net_b.network_interfaces.get(B_RG, NIC).ip_configurations[0].id
    assert mappings(net_b, ip_configuration=SubResource(id=config)) == [
        ("ssh", "Tcp", 50100, 22),
        ("rdp", "Tcp", 50200, 3389),
    ]
    assert refused(lambda: mappings(net_b, ip_address="10.2.0.99")) == (
        400,
        "BackendAddressNotInBackendAddressPool",
    )


def test_v1_and_v2_fields_do_not_mix(net_b) -> None:
    mixed = nat_v2("ssh", 50100, 50109, frontendPort=22)
    assert refused(lambda: put_lb(net_b, mixed)) == (
        400,
        "UnsupportedSetOfInboundNatRulePropertiesWhenFrontendPortIsSpecified",
    )
    no_range = nat_v2("ssh", 50100, 50109)
    del no_range["properties"]["frontendPortRangeEnd"]
    assert refused(lambda: put_lb(net_b, no_range)) == (400, "MissedInboundNatRuleV2Properties")
    assert refused(lambda: put_lb(net_b, nat_v2("ssh", 50109, 50100))) == (
        400,
        "InvalidInboundNatRuleFrontendPortRange",
    )


def test_a_range_too_small_for_the_pool_is_refused(net_b) -> None:
    assert refused(
        lambda: put_lb(net_b, nat_v2("ssh", 50100, 50100), body=ip_pool("10.2.0.6", "10.2.0.7"))
    ) == (
        400,
        "InboundNatRuleFrontendPortRangeSmallerThanBackendPool",
    )
    put_lb(net_b, nat_v2("ssh", 50100, 50100))  # an empty pool fits
    nic = net_b.network_interfaces.get(B_RG, NIC)
    nic.ip_configurations[0].load_balancer_backend_address_pools = [{"id": POOL}]
    net_b.network_interfaces.begin_create_or_update(B_RG, NIC, nic).result()  # one member, one port
    assert mappings(net_b, ip_configuration=SubResource(id=nic.ip_configurations[0].id)) == [
        ("ssh", "Tcp", 50100, 22)
    ]


# ------------------------------------------------------------------ frontend port clashes
@pytest.mark.parametrize(
    ("nat_rules", "code"),
    [
        ([nat_v1("a", 50001), nat_v1("b", 50001)], "InboundNatRulesUseSameFrontendIpAndPort"),
        ([nat_v1("a", 50105), nat_v2("b", 50100, 50109)], "InboundNatRulesUseSameFrontendIpAndPort"),
        ([nat_v2("a", 50100, 50109), nat_v2("b", 50109, 50120)], "InboundNatRulesUseSameFrontendIpAndPort"),
        ([nat_v1("a", 3389)], "InboundNatRuleAndLoadBalancingRuleUseSameFrontendIpAndPort"),
        ([nat_v2("a", 3000, 4000)], "InboundNatRuleAndLoadBalancingRuleUseSameFrontendIpAndPort"),
    ],
    ids=["v1-v1", "v1-in-v2-range", "v2-ranges-overlap", "v1-on-lb-rule-port", "v2-range-over-lb-rule"],
)
def test_frontend_port_clashes_are_refused(net_b, nat_rules: list[dict], code: str) -> None:
    assert refused(lambda: put_lb(net_b, *nat_rules)) == (400, code)


def test_other_protocol_or_other_port_does_not_clash(net_b) -> None:
    lb = put_lb(net_b, nat_v1("a", 50001), nat_v1("b", 50001, protocol="Udp"), nat_v2("c", 50002, 50010))
    assert sorted(r.name for r in lb.inbound_nat_rules) == ["a", "b", "c"]


def test_ha_ports_rule_takes_every_port_of_its_frontend(net_b) -> None:
    body = lb_body()
    rule = body["properties"]["loadBalancingRules"][0]["properties"]
    rule |= {"protocol": "All", "frontendPort": 0, "backendPort": 0}
    assert refused(lambda: put_lb(net_b, nat_v1("a", 50001), body=body)) == (
        400,
        "InboundNatRuleAndLoadBalancingRuleUseSameFrontendIpAndPort",
    )


def test_a_nic_cannot_join_a_pool_whose_range_is_full(net_b) -> None:
    """Azure: "If the pre-defined frontend port range doesn't have a sufficient number of frontend ports
    available, scaling up the backend pool is blocked" (azure-docs inbound-nat-rules.md)."""
    put_lb(net_b, nat_v2("ssh", 50100, 50100))
    other = second_nic({"loadBalancerBackendAddressPools": [{"id": POOL}]})
    net_b.network_interfaces.begin_create_or_update(B_RG, "nic-two", other).result()
    nic = net_b.network_interfaces.get(B_RG, NIC)
    nic.ip_configurations[0].load_balancer_backend_address_pools = [SubResource(id=POOL)]
    assert refused(lambda: net_b.network_interfaces.begin_create_or_update(B_RG, NIC, nic).result()) == (
        400,
        "InboundNatRuleFrontendPortRangeSmallerThanBackendPool",
    )
    assert (
        net_b.network_interfaces.get(B_RG, NIC).ip_configurations[0].load_balancer_backend_address_pools
        is None
    )


def test_a_nat_rule_counts_as_the_one_internal_load_balancer(net_b) -> None:
    """A NIC configuration behind lb-rdp's NAT rule cannot also join another internal LB's pool,
    nor name a NAT rule while it sits in another internal LB's pool."""
    put_lb(net_b, nat_v1("rdp-direct", 50001))
    link_nic(net_b, "rdp-direct")
    other = lb_body()
    other["properties"]["loadBalancingRules"], other["properties"]["probes"] = [], []
    other_id = LB_ID.replace("lb-rdp", "lb-other")
    other["properties"]["frontendIPConfigurations"][0]["properties"] = {"subnet": {"id": B_SUBNET}}
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-other", json.loads(json.dumps(other))).result()
    interface = net_b.network_interfaces.get(B_RG, NIC)
    interface.ip_configurations[0].load_balancer_backend_address_pools = [
        {"id": f"{other_id}/backendAddressPools/pool"}
    ]
    assert refused(
        lambda: net_b.network_interfaces.begin_create_or_update(B_RG, NIC, interface).result()
    ) == (
        400,
        "AnotherInternalLoadBalancerExists",
    )
