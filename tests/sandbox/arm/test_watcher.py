"""Network Watcher in the stand-in, through the real SDKs: watchers per region, connectivity checks
computed from the world, and the Network Watcher agent extension they need."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.network import NetworkManagementClient

from sandbox.arm.seed import scale_set_body
from tests.arm_story import (
    A_RG,
    B_RG,
    B_SUBNET,
    LB_ID,
    POOL,
    disable_pls_policies,
    expose,
    lb_body,
    pe_body,
    pls_body,
)
from tests.conftest import SHARED, TEAM_A, TEAM_B

NW_RG, NW = "NetworkWatcherRG", "NetworkWatcher_japaneast"
VM_A = f"/subscriptions/{TEAM_A}/resourceGroups/{A_RG}/providers/Microsoft.Compute/virtualMachines/VM-Win2019"
VM_B = (
    f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Compute/virtualMachines/VM-Win2019-2"
)
EXAMPLE = SHARED / "reference" / "azure-network-examples" / "NetworkWatcherConnectivityCheck.json"


def connect(
    net_a: NetworkManagementClient, net_b: NetworkManagementClient, decision: str | None = "Approved"
):
    """The seed story up to the endpoint, decided ``decision`` (None leaves it Pending)."""
    pls = expose(net_b)
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-rdp", pe_body(pls.alias)).result()
    if decision:
        (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")
        connection.private_link_service_connection_state.status = decision
        net_b.private_link_services.update_private_endpoint_connection(
            B_RG, "pls-rdp", connection.name, connection
        )


def check(net_a: NetworkManagementClient, port: int = 3389, address: str = "10.0.0.5"):
    body = {"source": {"resourceId": VM_A}, "destination": {"address": address, "port": port}}
    return net_a.network_watchers.begin_check_connectivity(NW_RG, NW, body).result()


def rule(name: str, source: str, access: str, priority: int) -> dict:
    """An inbound TCP 3389 security rule, in the REST shape."""
    props = {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "3389", "sourceAddressPrefix": source,
             "destinationAddressPrefix": "*", "access": access, "priority": priority, "direction": "Inbound"}  # fmt: skip
    return {"name": name, "properties": props}


def the_issue(result) -> tuple[str, dict[str, str]]:
    (issue,) = [i for hop in result.hops for i in hop.issues]
    assert (issue.origin, issue.severity) in {("Inbound", "Error"), ("Outbound", "Error"), ("Local", "Error")}
    return issue.type, {c["key"]: c["value"] for c in issue.context}


def test_every_subscription_has_a_watcher_in_its_region(net_a, net_b) -> None:
    for client, sub in ((net_a, TEAM_A), (net_b, TEAM_B)):
        (watcher,) = client.network_watchers.list_all()
        assert (
            watcher.id
            == f"/subscriptions/{sub}/resourceGroups/{NW_RG}/providers/Microsoft.Network/networkWatchers/{NW}"
        )
        assert (watcher.location, watcher.provisioning_state) == ("japaneast", "Succeeded")
        assert [w.name for w in client.network_watchers.list(NW_RG)] == [NW]


def test_one_watcher_per_region_and_deleting_it_disables_network_watcher(net_a) -> None:
    with pytest.raises(HttpResponseError) as refused:
        net_a.network_watchers.create_or_update(A_RG, "nw-2", {"location": "japaneast"})
    assert refused.value.error.code == "NetworkWatcherCountLimitReached"
    net_a.network_watchers.begin_delete(NW_RG, NW).result()
    assert list(net_a.network_watchers.list_all()) == []
    with pytest.raises(ResourceNotFoundError):
        check(net_a)
    net_a.network_watchers.create_or_update(NW_RG, NW, {"location": "japaneast"})
    assert net_a.network_watchers.get(NW_RG, NW).provisioning_state == "Succeeded"


def test_a_new_region_gets_a_watcher_with_its_first_vnet(net_a) -> None:
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]}}}
    net_a.virtual_networks.begin_create_or_update(A_RG, "eu-vnet", body).result()
    names = sorted(w.name for w in net_a.network_watchers.list_all())
    assert names == ["NetworkWatcher_japaneast", "NetworkWatcher_westeurope"]


def test_the_approved_connection_is_reachable_through_both_nats(net_a, net_b) -> None:
    connect(net_a, net_b)
    result = check(net_a)
    assert result.connection_status == "Reachable"
    assert [h.address for h in result.hops] == ["10.0.0.4", "10.0.0.5", "10.2.0.6", "10.2.0.4", "10.2.0.5"]
    assert result.hops[0].type == "Source" and result.hops[-1].resource_id.startswith(
        f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/networkInterfaces/vm-win2019-2-nic/"
    )
    assert [h.next_hop_ids for h in result.hops[:-1]] == [[h.id] for h in result.hops[1:]]
    assert result.hops[-1].next_hop_ids == [] and not any(h.issues for h in result.hops)
    assert (result.probes_sent, result.probes_failed) == (100, 0)
    assert result.min_latency_in_ms <= result.avg_latency_in_ms <= result.max_latency_in_ms


def test_the_answer_has_the_shape_of_azures_example(net_a, net_b) -> None:
    """The same fields as NetworkWatcherConnectivityCheck.json, at every level."""
    connect(net_a, net_b)
    example = json.loads(EXAMPLE.read_text())["responses"]["200"]["body"]
    body = {"source": {"resourceId": VM_A}, "destination": {"address": "10.0.0.5", "port": 3389}}
    poller = net_a.network_watchers.begin_check_connectivity(
        NW_RG, NW, body, cls=lambda r, d, h: r.http_response.json()
    )
    answer = poller.result()
    assert set(answer) == set(example)
    assert {k for hop in answer["hops"] for k in hop} == {k for hop in example["hops"] for k in hop}


@pytest.mark.parametrize("decision", [None, "Rejected"])
def test_a_connection_not_approved_stops_at_the_endpoint(net_a, net_b, decision) -> None:
    connect(net_a, net_b, decision)
    result = check(net_a)
    assert result.connection_status == "Unreachable" and result.probes_failed == result.probes_sent
    assert result.hops[-1].address == "10.0.0.5"
    kind, context = the_issue(result)
    assert (kind, context["PrivateEndpointConnectionStatus"]) == ("Platform", decision or "Pending")


def test_a_stopped_backend(net_a, net_b, sandbox) -> None:
    connect(net_a, net_b)
    sandbox.control("POST", "power", {"vm": VM_B, "state": "deallocated"})
    kind, context = the_issue(check(net_a))
    assert (kind, context["PowerState"], context["VirtualMachine"]) == (
        "Platform",
        "PowerState/deallocated",
        VM_B,
    )


def test_a_failing_probe(net_a, net_b, sandbox) -> None:
    connect(net_a, net_b)
    sandbox.control("POST", "probe", {"lb": LB_ID, "ip": "10.2.0.5", "healthy": False})
    result = check(net_a)
    assert result.hops[-1].address == "10.2.0.4"
    kind, context = the_issue(result)
    assert (kind, context["ProbeState"], context["BackendIPAddress"]) == ("Platform", "Down", "10.2.0.5")
    assert context["HealthProbe"] == f"{LB_ID}/probes/rdp"


def test_a_port_the_service_does_not_expose(net_a, net_b) -> None:
    connect(net_a, net_b)
    kind, context = the_issue(check(net_a, port=80))
    assert (kind, context["Reason"], context["Port"]) == ("Platform", "NoRuleForPort", "80")


def test_an_nsg_rule_that_denies_the_port(net_a, net_b) -> None:
    connect(net_a, net_b)
    nsg = net_b.network_security_groups.get(B_RG, "temp-vnet-default-nsg")
    nsg.security_rules.append(rule("deny-rdp", "10.2.0.6", "Deny", 100))
    net_b.network_security_groups.begin_create_or_update(B_RG, "temp-vnet-default-nsg", nsg).result()
    result = check(net_a)
    assert result.hops[-1].address == "10.2.0.5"
    kind, context = the_issue(result)
    assert (kind, context["RuleName"]) == ("NetworkSecurityRule", "UserRule_deny-rdp")
    assert context["NetworkSecurityGroup"].endswith("/networkSecurityGroups/temp-vnet-default-nsg")


def test_without_the_default_allow_rule_the_default_deny_names_itself(net_a, net_b) -> None:
    connect(net_a, net_b)
    nsg = net_b.network_security_groups.get(B_RG, "temp-vnet-default-nsg")
    nsg.security_rules = [r for r in nsg.security_rules if r.name != "allow-rdp-from-vnet"]
    nsg.security_rules.append(rule("allow-only-office", "192.168.0.0/16", "Allow", 300))
    net_b.network_security_groups.begin_create_or_update(B_RG, "temp-vnet-default-nsg", nsg).result()
    # The NAT IP is inside the VNet, so AllowVnetInBound still lets it in.
    assert check(net_a).connection_status == "Reachable"


def test_the_seed_vms_carry_the_agent_and_a_check_needs_it(net_a, compute_a) -> None:
    (agent,) = compute_a.virtual_machine_extensions.list(A_RG, "VM-Win2019").value
    assert (agent.properties.publisher, agent.properties.type, agent.properties.provisioning_state) == (
        "Microsoft.Azure.NetworkWatcher",
        "NetworkWatcherAgentWindows",
        "Succeeded",
    )
    vm = compute_a.virtual_machines.get(A_RG, "VM-Win2019", expand="instanceView")
    assert [r.name for r in vm.resources] == [agent.name]
    assert vm.instance_view.extensions[0].type == "Microsoft.Azure.NetworkWatcher.NetworkWatcherAgentWindows"
    compute_a.virtual_machine_extensions.begin_delete(A_RG, "VM-Win2019", agent.name).result()
    assert compute_a.virtual_machine_extensions.list(A_RG, "VM-Win2019").value == []
    with pytest.raises(HttpResponseError) as refused:
        check(net_a)
    assert (
        refused.value.error.code == "AgentStopped"
        and "NetworkWatcherAgentWindows" in refused.value.error.message
    )
    props = {
        "publisher": "Microsoft.Azure.NetworkWatcher",
        "type": "NetworkWatcherAgentWindows",
        "typeHandlerVersion": "1.4",
    }
    body = {"location": "japaneast", "properties": props}
    installed = compute_a.virtual_machine_extensions.begin_create_or_update(
        A_RG, "VM-Win2019", "nw-agent", body
    ).result()
    assert installed.properties.provisioning_state == "Succeeded"
    assert check(net_a, address="10.0.0.9").connection_status == "Unreachable"


def test_a_vm_in_the_same_network_is_reached_directly(net_b, compute_b, credential, sandbox) -> None:
    vm_b = "VM-Win2019-2"
    body = {"source": {"resourceId": VM_B}, "destination": {"address": "10.2.0.5", "port": 3389}}
    result = net_b.network_watchers.begin_check_connectivity(NW_RG, NW, body).result()
    assert result.connection_status == "Reachable" and [h.address for h in result.hops] == [
        "10.2.0.5",
        "10.2.0.5",
    ]
    assert compute_b.virtual_machines.get(B_RG, vm_b).name == vm_b


def _approve_endpoint(net_a: NetworkManagementClient, net_b: NetworkManagementClient, pls_name: str) -> None:
    pls_id = net_b.private_link_services.get(B_RG, pls_name).id  # by ID: visibility is for aliases
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-rdp", pe_body(pls_id)).result()
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, pls_name)
    connection.private_link_service_connection_state.status = "Approved"
    net_b.private_link_services.update_private_endpoint_connection(
        B_RG, pls_name, connection.name, connection
    )


def test_an_inbound_nat_rule_service_built_by_hand(net_a, net_b, sandbox) -> None:
    """seed-by-hand: PrivateLink-01 on LB-temp, whose inbound NAT rule RDP sends 3389 to VM-Win2019-2."""
    sandbox.control("POST", "reset", {"world": "seed-by-hand"})
    _approve_endpoint(net_a, net_b, "PrivateLink-01")
    result = check(net_a)
    assert result.connection_status == "Reachable"
    assert [h.address for h in result.hops][-3:] == ["10.2.0.6", "10.2.0.4", "10.2.0.5"]


def test_a_scale_set_backend(net_a, net_b, compute_b) -> None:
    """The probes reach a running scale set instance, and a stopped pool is named."""
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", lb_body()).result()
    disable_pls_policies(net_b)
    body = scale_set_body(B_SUBNET, [POOL], capacity=1)
    compute_b.virtual_machine_scale_sets.begin_create_or_update(B_RG, "vmss-rdp", body).result()
    net_b.private_link_services.begin_create_or_update(B_RG, "pls-rdp", pls_body()).result()
    _approve_endpoint(net_a, net_b, "pls-rdp")
    result = check(net_a)
    assert result.connection_status == "Reachable"
    assert (
        "/virtualMachineScaleSets/vmss-rdp/virtualMachines/0/networkInterfaces/"
        in result.hops[-1].resource_id
    )


def test_an_extension_has_the_shape_of_a_vm_resource_in_azures_example(compute_a) -> None:
    """VirtualMachine_Get.json's ``resources`` entry: the same fields, at both levels."""
    vm_example = json.loads(
        (SHARED / "reference" / "azure-compute-examples" / "VirtualMachine_Get.json").read_text()
    )
    (example,) = vm_example["responses"]["200"]["body"]["resources"]
    vm = compute_a.virtual_machines.get(A_RG, "VM-Win2019")
    (ours,) = vm.as_dict()["resources"]
    raw = compute_a.virtual_machine_extensions.get(
        A_RG, "VM-Win2019", ours["name"], cls=lambda r, d, h: r.http_response.json()
    )
    assert set(raw) == set(example)
    assert set(example["properties"]) <= set(raw["properties"])
