"""Action-level RBAC in the stand-in, through the real SDK: each request is one action over one
scope, granted by a role assignment there or above, or refused with ARM's 403."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential

from sandbox.arm.launch import RunningSandbox
from tests.arm_story import A_RG, B_RG, B_SUBNET, LB_ID, create_lb, expose, pe_body
from tests.conftest import TEAM_A, TEAM_B, network_client

B_SCOPE = f"/subscriptions/{TEAM_B}"
B_GROUP = f"{B_SCOPE}/resourceGroups/{B_RG}"


def refused(call: Callable[[], object]) -> tuple[int, str, str]:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value.status_code, caught.value.error.code, caught.value.error.message


@pytest.fixture
def principal(sandbox: RunningSandbox) -> Iterator[str]:
    """The sandbox identity's object id; its assignments go back to the default afterwards."""
    yield sandbox.config["client_id"]
    sandbox.control("DELETE", "role-assignments", {})


def assign(sandbox: RunningSandbox, principal: str, *pairs: tuple[str, str]) -> None:
    assignments = [{"role": role, "scope": scope} for role, scope in pairs]
    sandbox.control("PUT", "role-assignments", {"principal": principal, "assignments": assignments})


def test_by_default_the_identity_may_do_everything_but_approve_automatic_connections(net_a, net_b) -> None:
    pls = expose(net_b)
    status, code, message = refused(
        lambda: net_a.private_endpoints.begin_create_or_update(A_RG, "pe", pe_body(pls.alias, manual=False))
    )
    assert (status, code) == (403, "LinkedAuthorizationFailed")
    assert "privateEndpointConnectionsApproval/action" in message


def test_a_denied_action_is_arms_403_naming_action_and_scope(sandbox, principal, net_b) -> None:
    assign(sandbox, principal, ("Reader", B_SCOPE))
    assert [v.name for v in net_b.virtual_networks.list_all()] == ["temp-vnet"], "Reader reads"
    status, code, message = refused(lambda: create_lb(net_b))
    assert (status, code) == (403, "AuthorizationFailed")
    assert message == (
        f"The client '{principal}' with object id '{principal}' does not have authorization to perform action "
        f"'Microsoft.Network/loadBalancers/write' over scope '{LB_ID}' or the scope is invalid. If access was "
        "recently granted, please refresh your credentials."
    )
    assert refused(lambda: net_b.load_balancers.get(B_RG, "lb-rdp"))[1] == "ResourceNotFound", (
        "nothing written"
    )


def test_a_list_is_authorized_over_the_subscription(sandbox, principal, net_a) -> None:
    assign(sandbox, principal, ("Reader", B_SCOPE))
    status, code, message = refused(lambda: list(net_a.private_link_services.list_by_subscription()))
    assert (status, code) == (403, "AuthorizationFailed")
    assert f"'Microsoft.Network/privateLinkServices/read' over scope '/subscriptions/{TEAM_A}'" in message


def test_wildcards_and_not_actions(sandbox, principal, net_b) -> None:
    sandbox.control(
        "POST",
        "role-definitions",
        {
            "Name": "Network but no LB deletes",
            "IsCustom": True,
            "Actions": ["Microsoft.Network/*", "*/read"],
            "NotActions": ["Microsoft.Network/loadBalancers/delete"],
            "AssignableScopes": [B_SCOPE],
        },
    )
    assign(sandbox, principal, ("Network but no LB deletes", B_SCOPE))
    create_lb(net_b)
    status, code, message = refused(lambda: net_b.load_balancers.begin_delete(B_RG, "lb-rdp").result())
    assert (status, code) == (403, "AuthorizationFailed")
    assert "'Microsoft.Network/loadBalancers/delete'" in message


def test_an_assignment_at_a_resource_group_covers_only_that_group(sandbox, principal, net_b) -> None:
    assign(sandbox, principal, ("Network Contributor", B_GROUP))
    create_lb(net_b)
    assert net_b.load_balancers.get(B_RG, "lb-rdp").name == "lb-rdp"
    status, code, message = refused(lambda: list(net_b.load_balancers.list_all()))
    assert (status, code) == (403, "AuthorizationFailed")
    assert f"over scope '{B_SCOPE}'" in message


def test_a_join_needs_its_own_action(sandbox, principal, net_b) -> None:
    sandbox.control(
        "POST",
        "role-definitions",
        {"Name": "LB writer", "Actions": ["*/read", "Microsoft.Network/loadBalancers/write"]},
    )
    assign(sandbox, principal, ("LB writer", B_SCOPE))
    status, code, message = refused(lambda: create_lb(net_b))
    assert (status, code) == (403, "LinkedAuthorizationFailed")
    assert "'Microsoft.Network/virtualNetworks/subnets/join/action'" in message and B_SUBNET in message


def test_an_owner_of_the_service_may_connect_automatically(sandbox, principal, net_a, net_b) -> None:
    pls = expose(net_b)
    assign(sandbox, principal, ("Owner", "/"))
    pe = net_a.private_endpoints.begin_create_or_update(A_RG, "pe", pe_body(pls.alias, manual=False)).result()
    state = pe.private_link_service_connections[0].private_link_service_connection_state
    assert state.status == "Approved"


def test_the_portal_principal_keeps_its_rights(sandbox, principal, net_b) -> None:
    """Tests hold natlink's identity to its roles and set things up as the portal, another client."""
    assign(sandbox, principal, ("Reader", B_SCOPE))
    c = sandbox.config
    portal = ClientSecretCredential(
        c["tenant_id"],
        c["portal_client_id"],
        c["portal_client_secret"],
        authority=c["authority_host"],
        disable_instance_discovery=True,
        connection_verify=c["ca_bundle"],
    )
    create_lb(network_client(sandbox, portal, TEAM_B))
    assert net_b.load_balancers.get(B_RG, "lb-rdp").name == "lb-rdp"


def test_subscriptions_list_only_where_something_is_held(sandbox, principal, credential) -> None:
    assign(sandbox, principal, ("Reader", B_GROUP))
    assert _get(sandbox, credential, "/subscriptions")["value"][0]["subscriptionId"] == TEAM_B
    assert len(_get(sandbox, credential, "/subscriptions")["value"]) == 1


def test_permissions_answer_the_callers_roles(sandbox, principal, credential) -> None:
    assign(sandbox, principal, ("Reader", B_SCOPE), ("Network Contributor", B_GROUP))
    group = _get(sandbox, credential, f"{B_GROUP}/providers/Microsoft.Authorization/permissions")
    assert sorted(len(p["actions"]) for p in group["value"]) == [1, 7]
    assert {"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []} in group[
        "value"
    ]
    subscription = _get(sandbox, credential, f"{B_SCOPE}/providers/Microsoft.Authorization/permissions")
    assert subscription == {
        "value": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]
    }
    elsewhere = _get(
        sandbox, credential, f"/subscriptions/{TEAM_A}/providers/Microsoft.Authorization/permissions"
    )
    assert elsewhere == {"value": []}


def test_an_unreadable_subscription_holds_nothing(sandbox, principal, credential) -> None:
    sandbox.control("POST", "access", {"subscription": TEAM_B, "readable": False})
    try:
        answer = _get(sandbox, credential, f"{B_SCOPE}/providers/Microsoft.Authorization/permissions")
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_B, "readable": True})
    assert answer == {"value": []}


def test_assignments_are_validated_and_listed(sandbox, principal) -> None:
    with pytest.raises(Exception, match="RoleDefinitionDoesNotExist"):
        assign(sandbox, principal, ("No such role", B_SCOPE))
    assign(sandbox, principal, ("Monitoring Reader", B_SCOPE))
    listed = sandbox.control("GET", "role-assignments")
    assert listed["principals"][principal.lower()] == [{"role": "Monitoring Reader", "scope": B_SCOPE}]
    names = [r["name"] for r in sandbox.control("GET", "role-definitions")["value"]]
    assert {"Owner", "Contributor", "Reader", "Network Contributor", "Monitoring Reader"} <= set(names)


def _get(sandbox: RunningSandbox, credential: ClientSecretCredential, path: str) -> dict:
    """A bearer GET as az rest would send it: subscriptions at 2022-12-01, permissions at 2022-04-01."""
    token = credential.get_token("https://management.azure.com/.default").token
    answer = requests.get(
        f"{sandbox.arm_url}{path}",
        params={"api-version": "2022-12-01" if path == "/subscriptions" else "2022-04-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()
