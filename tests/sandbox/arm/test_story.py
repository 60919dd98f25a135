"""The seed story, built by hand with SDK calls against the sandbox ARM."""

from __future__ import annotations

from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient

from tests.arm_story import A_RG, B_RG, create_lb, expose, pe_body
from tests.conftest import TEAM_A


def _nic_ip(client: NetworkManagementClient, group: str, nic_id: str) -> str:
    return (
        client.network_interfaces.get(group, nic_id.rsplit("/", 1)[1]).ip_configurations[0].private_ip_address
    )


def test_seed_world_matches_the_topology(net_a, net_b, compute_b: ComputeManagementClient) -> None:
    assert [v.name for v in net_a.virtual_networks.list_all()] == ["RG-normal-vnet"]
    vnet_b = net_b.virtual_networks.get(B_RG, "temp-vnet")
    assert vnet_b.address_space.address_prefixes == ["10.2.0.0/16"]
    subnet = vnet_b.subnets[0]
    assert (
        subnet.address_prefix,
        subnet.private_link_service_network_policies,
        subnet.private_endpoint_network_policies,
    ) == (
        "10.2.0.0/24",
        "Enabled",
        "Disabled",
    )
    vm = compute_b.virtual_machines.get(B_RG, "VM-Win2019-2", expand="instanceView")
    assert vm.instance_view.statuses[-1].code == "PowerState/running"
    assert _nic_ip(net_b, B_RG, vm.network_profile.network_interfaces[0].id) == "10.2.0.5"
    assert (
        net_a.network_interfaces.get(A_RG, "vm-win2019-nic").ip_configurations[0].private_ip_address
        == "10.0.0.4"
    )


def test_the_double_nat_story(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> None:
    lb = create_lb(net_b)
    assert lb.frontend_ip_configurations[0].private_ip_address == "10.2.0.4"
    pool = net_b.load_balancers.get(B_RG, "lb-rdp").backend_address_pools[0]
    assert [c.id.split("/")[8] for c in pool.backend_ip_configurations] == ["vm-win2019-2-nic"]

    pls = expose(net_b)
    assert pls.alias.startswith("pls-rdp.") and pls.alias.endswith(".japaneast.azure.privatelinkservice")
    # A dynamic NAT IP shows on the service's NIC only, as in Azure.
    assert pls.ip_configurations[0].private_ip_address is None
    assert _nic_ip(net_b, B_RG, pls.network_interfaces[0].id) == "10.2.0.6"

    pe = net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-rdp", pe_body(pls.alias, "natlink:req-1 bob")
    ).result()
    assert _nic_ip(net_a, A_RG, pe.network_interfaces[0].id) == "10.0.0.5"
    assert (
        pe.manual_private_link_service_connections[0].private_link_service_connection_state.status
        == "Pending"
    )
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")
    assert connection.private_endpoint.id.lower() == pe.id.lower()
    assert connection.private_link_service_connection_state.description == "natlink:req-1 bob"
    assert connection.link_identifier and connection.private_endpoint_location == "japaneast"

    connection.private_link_service_connection_state.status = "Approved"
    connection.private_link_service_connection_state.description = "approved by alice"
    updated = net_b.private_link_services.update_private_endpoint_connection(
        B_RG, "pls-rdp", connection.name, connection
    )
    assert updated.private_link_service_connection_state.status == "Approved"
    pe_state = net_a.private_endpoints.get(A_RG, "pe-rdp").manual_private_link_service_connections[0]
    assert pe_state.private_link_service_connection_state.status == "Approved"
    assert pe_state.private_link_service_connection_state.description == "approved by alice"

    net_b.private_link_services.begin_delete_private_endpoint_connection(
        B_RG, "pls-rdp", connection.name
    ).result()
    assert list(net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")) == []
    pe_state = net_a.private_endpoints.get(A_RG, "pe-rdp").manual_private_link_service_connections[0]
    assert pe_state.private_link_service_connection_state.status == "Disconnected"


def test_deleting_the_endpoint_removes_the_connection_and_frees_its_address(net_a, net_b) -> None:
    pls = expose(net_b)
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-rdp", pe_body(pls.alias)).result()
    net_a.private_endpoints.begin_delete(A_RG, "pe-rdp").result()
    assert list(net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")) == []
    again = net_a.private_endpoints.begin_create_or_update(A_RG, "pe-again", pe_body(pls.alias)).result()
    assert _nic_ip(net_a, A_RG, again.network_interfaces[0].id) == "10.0.0.5"


def test_auto_approval_and_visibility(net_a, net_b) -> None:
    pls = expose(net_b, visibility=["*"], auto=[TEAM_A])
    visible = net_a.private_link_services.begin_check_private_link_service_visibility(
        "japaneast", {"privateLinkServiceAlias": pls.alias}
    ).result()
    assert visible.visible is True
    by_group = net_a.private_link_services.begin_check_private_link_service_visibility_by_resource_group(
        "japaneast", A_RG, {"privateLinkServiceAlias": pls.alias}
    ).result()
    assert by_group.visible is True
    pe = net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-auto", pe_body(pls.alias, manual=False)
    ).result()
    assert pe.private_link_service_connections[0].private_link_service_connection_state.status == "Approved"
    manual = net_a.private_endpoints.begin_create_or_update(A_RG, "pe-manual", pe_body(pls.alias)).result()
    assert (
        manual.manual_private_link_service_connections[0].private_link_service_connection_state.status
        == "Approved"
    )


def test_alias_not_visible_to_another_subscription(net_a, net_b) -> None:
    pls = expose(net_b, visibility=[])
    check = net_a.private_link_services.begin_check_private_link_service_visibility(
        "japaneast", {"privateLinkServiceAlias": pls.alias}
    ).result()
    assert check.visible is False
    own = net_b.private_link_services.begin_check_private_link_service_visibility(
        "japaneast", {"privateLinkServiceAlias": pls.alias}
    ).result()
    assert own.visible is True


def test_power_state_is_kept(compute_b: ComputeManagementClient) -> None:
    compute_b.virtual_machines.begin_power_off(B_RG, "VM-Win2019-2").result()
    assert (
        compute_b.virtual_machines.instance_view(B_RG, "VM-Win2019-2").statuses[-1].code
        == "PowerState/stopped"
    )
    listed = {vm.name: vm for vm in compute_b.virtual_machines.list_all(status_only="true")}
    assert listed["VM-Win2019-2"].instance_view.statuses[-1].code == "PowerState/stopped"
    compute_b.virtual_machines.begin_start(B_RG, "VM-Win2019-2").result()
    assert (
        compute_b.virtual_machines.instance_view(B_RG, "VM-Win2019-2").statuses[-1].code
        == "PowerState/running"
    )


def test_ids_are_case_insensitive(net_b) -> None:
    expose(net_b)
    upper = net_b.private_link_services.get(B_RG.upper(), "PLS-RDP")
    assert upper.name == "pls-rdp"
