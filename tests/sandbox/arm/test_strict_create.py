"""The Azure rules on natlink's create path, refused by the stand-in as Azure refuses them (issue 9).

Each test drives the sandbox through the real azure-mgmt-network client, as any ARM client would:

* rule 1, one internal load balancer per NIC IP configuration (``AnotherInternalLoadBalancerExists``);
* rule 2, one rule per backend port and protocol for a pool (``RulesUseSameBackendPortProtocolAndPool``)
  and for an IP configuration across the load balancers of one type
  (``RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig``);
* rule 3, NIC-based pool members listed in ``loadBalancerBackendAddresses`` and refused when sent
  back (``DuplicateIpConfigurationReferenceOnBackendAddressPool``);
* rule 6, a subnet PUT replaces the subnet, and its links need ``join/action`` (``LinkedAuthorizationFailed``);
* rule 7, what gives a VM outbound access: a public IP on its NIC, a NAT gateway on its subnet, an
  outbound rule of a public load balancer. Azure refuses nothing here; the stand-in holds the
  resources and the references that say which a VM has.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import NetworkManagementClient

from sandbox.arm.launch import RunningSandbox
from tests.arm_story import A_RG, B_RG, B_SUBNET, POOL, create_lb
from tests.conftest import TEAM_A, TEAM_B

NET_B = f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network"
NET_A = f"/subscriptions/{TEAM_A}/resourceGroups/{A_RG}/providers/Microsoft.Network"
NIC = "vm-win2019-2-nic"


def refused(call: Callable[[], object]) -> tuple[int, str, str]:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value.status_code, caught.value.error.code, caught.value.error.message


def lb(
    name: str,
    rules: list[tuple[str, int, str]] = (),  # type: ignore[assignment]
    pools: tuple[str, ...] = ("pool",),
    public_ip: str | None = None,
    floating: bool = False,
) -> dict:
    """A Standard LB ``name`` with frontend ``fe`` (internal, or on ``public_ip``), ``pools`` and one
    rule per ``(rule name, backend port, pool)``, each on its own frontend port."""
    lb_id = f"{NET_B}/loadBalancers/{name}"
    frontend = {"publicIPAddress": {"id": public_ip}} if public_ip else {"subnet": {"id": B_SUBNET}}
    return {
        "location": "japaneast",
        "sku": {"name": "Standard"},
        "properties": {
            "frontendIPConfigurations": [{"name": "fe", "properties": frontend}],
            "backendAddressPools": [{"name": p} for p in pools],
            "loadBalancingRules": [
                {
                    "name": rule,
                    "properties": {
                        "protocol": "Tcp",
                        "frontendPort": 1000 + i,
                        "backendPort": port,
                        "enableFloatingIP": floating,
                        "frontendIPConfiguration": {"id": f"{lb_id}/frontendIPConfigurations/fe"},
                        "backendAddressPool": {"id": f"{lb_id}/backendAddressPools/{pool}"},
                    },
                }
                for i, (rule, port, pool) in enumerate(rules)
            ],
        },
    }


def join(net_b: NetworkManagementClient, *pools: str):
    """PUT the VM's NIC with its IP configuration in exactly ``pools``."""
    nic = net_b.network_interfaces.get(B_RG, NIC)
    nic.ip_configurations[0].load_balancer_backend_address_pools = [{"id": p} for p in pools]
    return lambda: net_b.network_interfaces.begin_create_or_update(B_RG, NIC, nic).result()


def pools_of_nic(net_b: NetworkManagementClient) -> list[str]:
    config = net_b.network_interfaces.get(B_RG, NIC).ip_configurations[0]
    return [
        p.id.rsplit("/", 3)[1] + "/" + p.id.rsplit("/", 1)[1]
        for p in config.load_balancer_backend_address_pools or []
    ]


def public_ip(net: NetworkManagementClient, group: str, name: str) -> str:
    body = {
        "location": "japaneast",
        "sku": {"name": "Standard"},
        "properties": {"publicIPAllocationMethod": "Static"},
    }
    return net.public_ip_addresses.begin_create_or_update(group, name, body).result().id


# ------------------------------------------------------------------- rule 1
def test_an_ip_configuration_sits_in_one_internal_load_balancer(net_b: NetworkManagementClient) -> None:
    create_lb(net_b)  # lb-rdp, the VM's NIC in its pool
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-two", lb("lb-two")).result()
    status, code, message = refused(
        join(net_b, POOL, f"{NET_B}/loadBalancers/lb-two/backendAddressPools/pool")
    )
    assert (status, code) == (400, "AnotherInternalLoadBalancerExists")
    assert "lb-rdp" in message and "lb-two" in message
    assert pools_of_nic(net_b) == ["lb-rdp/pool"], "the NIC is as it was"


def test_one_public_and_one_internal_load_balancer_may_share_it(net_b: NetworkManagementClient) -> None:
    create_lb(net_b)  # lb-rdp sends 3389 to the VM
    pip = public_ip(net_b, B_RG, "lb-public-ip")
    body = lb("lb-public", [("rdp", 3389, "pool")], public_ip=pip)
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-public", body).result()
    join(net_b, POOL, f"{NET_B}/loadBalancers/lb-public/backendAddressPools/pool")()
    assert pools_of_nic(net_b) == ["lb-rdp/pool", "lb-public/pool"], "another type, the same port is fine"
    assert net_b.public_ip_addresses.get(B_RG, "lb-public-ip").ip_configuration.id.endswith(
        "/loadBalancers/lb-public/frontendIPConfigurations/fe"
    )


# ------------------------------------------------------------------- rule 2
def test_two_rules_may_not_send_one_port_to_one_pool(net_b: NetworkManagementClient) -> None:
    body = lb("lb-two", [("a", 3389, "pool"), ("b", 3389, "pool")])
    status, code, message = refused(lambda: net_b.load_balancers.begin_create_or_update(B_RG, "lb-two", body))
    assert (status, code) == (400, "RulesUseSameBackendPortProtocolAndPool")
    assert "with floating IP disabled use the same protocol Tcp and backend port 3389" in message
    assert list(net_b.load_balancers.list(B_RG)) == []
    floating = lb("lb-two", [("a", 3389, "pool"), ("b", 3389, "pool")], floating=True)
    assert net_b.load_balancers.begin_create_or_update(B_RG, "lb-two", floating).result(), (
        "floating IP allows it"
    )


def test_nor_to_one_ip_configuration_through_two_pools(net_b: NetworkManagementClient) -> None:
    """azure-powershell#2042: the NIC PUT that joins the second pool is refused."""
    body = lb("lb-two", [("a", 3389, "one"), ("b", 3389, "two")], pools=("one", "two"))
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-two", body).result()
    one, two = (f"{NET_B}/loadBalancers/lb-two/backendAddressPools/{p}" for p in ("one", "two"))
    join(net_b, one)()
    status, code, message = refused(join(net_b, one, two))
    assert (status, code) == (400, "RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig")
    assert (
        "use the same backend port (3389) and protocol (Tcp), and must not be used with the same backend ip"
        in message
    )
    assert pools_of_nic(net_b) == ["lb-two/one"]


def test_nor_by_a_rule_added_later(net_b: NetworkManagementClient) -> None:
    """The same rule holds when the LB PUT brings the second rule to a pool the NIC already sits in."""
    body = lb("lb-two", [("a", 3389, "one")], pools=("one", "two"))
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-two", body).result()
    join(net_b, *(f"{NET_B}/loadBalancers/lb-two/backendAddressPools/{p}" for p in ("one", "two")))()
    clash = lb("lb-two", [("a", 3389, "one"), ("b", 3389, "two")], pools=("one", "two"))
    status, code, _ = refused(lambda: net_b.load_balancers.begin_create_or_update(B_RG, "lb-two", clash))
    assert (status, code) == (400, "RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig")
    assert [r.name for r in net_b.load_balancers.get(B_RG, "lb-two").load_balancing_rules] == ["a"]


# ------------------------------------------------------------------- rule 3
def test_nic_members_are_listed_as_backend_addresses_and_refused_back(net_b: NetworkManagementClient) -> None:
    create_lb(net_b)
    got = net_b.load_balancers.get(B_RG, "lb-rdp")
    (address,) = got.backend_address_pools[0].load_balancer_backend_addresses
    config = net_b.network_interfaces.get(B_RG, NIC).ip_configurations[0].id
    assert address.network_interface_ip_configuration.id.lower() == config.lower()
    assert address.name and not address.ip_address

    with pytest.raises(HttpResponseError) as caught:  # what a read-modify-write sends
        net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", got).result()
    error = caught.value.error
    assert (caught.value.status_code, error.code, error.message) == (
        400,
        "InvalidRequestFormat",
        "Cannot parse the request.",
    )
    assert [d.code for d in error.details] == ["DuplicateIpConfigurationReferenceOnBackendAddressPool"]
    assert "Found duplicate ipConfiguration reference" in error.details[0].message

    got.backend_address_pools[0].load_balancer_backend_addresses = None  # membership is the NIC's
    assert (
        net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", got).result().provisioning_state
        == "Succeeded"
    )
    assert pools_of_nic(net_b) == ["lb-rdp/pool"]


# ------------------------------------------------------------------- rule 6
def test_the_seed_provider_subnet_links_a_nsg_a_route_table_a_nat_gateway_and_an_endpoint(
    net_b: NetworkManagementClient,
) -> None:
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    assert subnet.network_security_group.id.endswith("/networkSecurityGroups/temp-vnet-default-nsg")
    assert subnet.route_table.id.endswith("/routeTables/temp-vnet-routes")
    assert subnet.nat_gateway.id.endswith("/natGateways/temp-vnet-nat")
    assert [(e.service, e.locations) for e in subnet.service_endpoints] == [
        ("Microsoft.Storage", ["japaneast"])
    ]
    nsg = net_b.network_security_groups.get(B_RG, "temp-vnet-default-nsg")
    assert [s.id for s in nsg.subnets] == [subnet.id] and len(nsg.default_security_rules) == 6
    assert [s.id for s in net_b.route_tables.get(B_RG, "temp-vnet-routes").subnets] == [subnet.id]


def test_a_subnet_put_replaces_the_subnet(net_b: NetworkManagementClient) -> None:
    kept = net_b.subnets.get(B_RG, "temp-vnet", "default").route_table
    body = {"properties": {"addressPrefix": "10.2.0.0/24", "routeTable": {"id": kept.id}}}
    after = net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", body).result()
    assert after.route_table.id == kept.id
    assert (after.network_security_group, after.nat_gateway, after.service_endpoints) == (None, None, None)
    assert net_b.network_security_groups.get(B_RG, "temp-vnet-default-nsg").subnets is None


def test_a_link_must_exist_and_be_joinable(
    sandbox: RunningSandbox, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    subnet.network_security_group = {"id": f"{NET_B}/networkSecurityGroups/nope"}
    status, code, _ = refused(
        lambda: net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet)
    )
    assert (status, code) == (400, "InvalidResourceReference")

    elsewhere = net_a.network_security_groups.begin_create_or_update(
        A_RG, "hub-nsg", {"location": "japaneast"}
    )
    subnet.network_security_group = {"id": elsewhere.result().id}
    net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet).result()
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    again = net_b.subnets.get(B_RG, "temp-vnet", "default")  # unchanged, sent back whole
    status, code, message = refused(
        lambda: net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", again)
    )
    assert (status, code) == (403, "LinkedAuthorizationFailed")
    assert "'Microsoft.Network/networkSecurityGroups/join/action' on the linked scope(s)" in message
    assert "/networkSecurityGroups/hub-nsg" in message


@pytest.mark.parametrize(
    ("operations", "name", "code"),
    [
        ("network_security_groups", "temp-vnet-default-nsg", "InUseNetworkSecurityGroupCannotBeDeleted"),
        ("route_tables", "temp-vnet-routes", "InUseRouteTableCannotBeDeleted"),
        ("nat_gateways", "temp-vnet-nat", "InUseNatGatewayCannotBeDeleted"),
        ("public_ip_addresses", "temp-vnet-nat-ip", "PublicIPAddressCannotBeDeleted"),
    ],
)
def test_what_is_linked_cannot_be_deleted(
    net_b: NetworkManagementClient, operations: str, name: str, code: str
) -> None:
    client = getattr(net_b, operations)
    assert refused(lambda: client.begin_delete(B_RG, name).result())[:2] == (400, code)
    assert client.get(B_RG, name).name == name


# ------------------------------------------------------------------- rule 7
def test_the_ways_to_outbound_access_are_modelled(
    net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    consumer = net_a.network_interfaces.get(A_RG, "vm-win2019-nic").ip_configurations[0]
    pip = net_a.public_ip_addresses.get(A_RG, "vm-win2019-ip")
    assert consumer.public_ip_address.id == pip.id and pip.ip_configuration.id == consumer.id
    assert pip.sku.name == "Standard" and pip.ip_address.startswith("203.0.113.")
    nat = net_b.nat_gateways.get(B_RG, "temp-vnet-nat")
    assert [s.id for s in nat.subnets] == [net_b.subnets.get(B_RG, "temp-vnet", "default").id]
    assert net_b.public_ip_addresses.get(B_RG, "temp-vnet-nat-ip").nat_gateway.id == nat.id

    pip_b = public_ip(net_b, B_RG, "vm-win2019-2-ip")
    nic = net_b.network_interfaces.get(B_RG, NIC)
    nic.ip_configurations[0].public_ip_address = {"id": pip_b}
    assert (
        net_b.network_interfaces.begin_create_or_update(B_RG, NIC, nic)
        .result()
        .ip_configurations[0]
        .public_ip_address.id
        == pip_b
    )

    nat_body = {
        "location": "japaneast",
        "sku": {"name": "Standard"},
        "properties": {"publicIpAddresses": [{"id": pip_b}]},
    }
    status, code, message = refused(
        lambda: net_b.nat_gateways.begin_create_or_update(B_RG, "nat-two", nat_body)
    )
    assert (status, code) == (400, "PublicIPAddressInUse") and "already allocated to resource" in message


def test_a_public_load_balancer_carries_outbound_rules(net_b: NetworkManagementClient) -> None:
    pip = public_ip(net_b, B_RG, "egress-ip")
    body = lb("lb-egress", public_ip=pip)
    lb_id = f"{NET_B}/loadBalancers/lb-egress"
    body["properties"]["outboundRules"] = [
        {
            "name": "egress",
            "properties": {
                "protocol": "All",
                "frontendIPConfigurations": [{"id": f"{lb_id}/frontendIPConfigurations/fe"}],
                "backendAddressPool": {"id": f"{lb_id}/backendAddressPools/pool"},
            },
        }
    ]
    made = net_b.load_balancers.begin_create_or_update(B_RG, "lb-egress", body).result()
    (rule,) = made.outbound_rules
    assert rule.backend_address_pool.id.endswith("/backendAddressPools/pool") and rule.protocol == "All"
    assert [r.id for r in made.backend_address_pools[0].outbound_rules] == [rule.id]
