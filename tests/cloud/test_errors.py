"""Azure's failures, as the real SDK raises them from the sandbox, become actionable CloudErrors."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.errors import CloudError, hint_for
from cloud.inventory import snapshot
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import A_RG, B_RG, create_lb, pls_body
from tests.conftest import TEAM_A, TEAM_B


def raised(call) -> CloudError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return CloudError.from_azure(caught.value)


def test_authorization_failed_names_the_role_and_the_scope(sandbox: RunningSandbox, net_a) -> None:
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    try:
        error = raised(lambda: list(net_a.private_endpoints.list_by_subscription()))
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": True})
    assert error.code == "AuthorizationFailed"
    assert "'Reader'" in error.hint and "'Network Contributor'" in error.hint
    assert f"scope '/subscriptions/{TEAM_A}'" in error.hint


def test_a_pls_in_a_subnet_with_policies_enabled(net_b: NetworkManagementClient) -> None:
    create_lb(net_b)
    error = raised(
        lambda: net_b.private_link_services.begin_create_or_update(B_RG, "pls", pls_body()).result()
    )
    assert error.code == "PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled"
    assert "privateLinkServiceNetworkPolicies" in error.hint


def test_a_missing_resource(net_a: NetworkManagementClient) -> None:
    error = raised(lambda: net_a.private_endpoints.get(A_RG, "no-such-pe"))
    assert error.code in {"ResourceNotFound", "NotFound"} and "deleted outside natlink" in error.hint


def test_throttling_after_bounded_retries(sandbox: RunningSandbox, clients: Clients) -> None:
    sandbox.control(
        "POST", "faults", {"status": 429, "path": "privateLinkServices", "count": 10, "retry_after": 0}
    )
    with pytest.raises(CloudError) as caught:
        snapshot(clients, [TEAM_B])
    assert caught.value.code == "TooManyRequests" and "throttling" in caught.value.hint
    assert caught.value.unanswered, "throttling that outlasts the retries is no verdict of Azure's"


def test_only_an_answer_of_azure_is_a_refusal(sandbox: RunningSandbox, net_a) -> None:
    """A 4xx is Azure's verdict; a 5xx or no answer at all is not, and people are told which."""
    assert not raised(lambda: net_a.private_endpoints.get(A_RG, "no-such-pe")).unanswered
    sandbox.control(
        "POST", "faults", {"status": 503, "path": "privateEndpoints", "count": 10, "retry_after": 0}
    )
    assert raised(lambda: net_a.private_endpoints.get(A_RG, "no-such-pe")).unanswered
    assert CloudError.from_azure(ServiceRequestError("connection refused")).unanswered


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (ClientAuthenticationError("bad secret"), "ClientAuthenticationError", "AZURE_CLIENT_SECRET"),
        (ServiceRequestError("refused"), "ServiceRequestError", "NATLINK_ARM_URL"),
    ],
)
def test_errors_without_a_response(error, code: str, words: str) -> None:
    cloud = CloudError.from_azure(error, "/subscriptions/x")
    assert (cloud.code, cloud.resource) == (code, "/subscriptions/x") and words in cloud.hint


def test_a_subscription_of_another_tenant_gets_its_own_hint() -> None:
    """Issue 9 rule 13: a subscription of another tenant is not an authorization problem."""
    hint = hint_for("InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer.", None)
    assert "another Entra ID tenant" in hint and "NATLINK_SUBSCRIPTIONS" in hint


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("InvalidAuthenticationTokenAudience", "NATLINK_CLOUD"),
        ("NoRegisteredProviderFound", "api-version"),
        ("InvalidApiVersionParameter", "api-version"),
    ],
)
def test_cloud_and_api_version_refusals_say_what_to_check(code: str, words: str) -> None:
    assert words in hint_for(code, "", None)
