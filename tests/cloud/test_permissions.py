"""Azure's rule for effective permissions, as natlink's pre-flight reads it (cloud/permissions.py)."""

from __future__ import annotations

import pytest

from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.permissions import Need, allowed, require
from tests.conftest import TEAM_B

NETWORK_CONTRIBUTOR = {"actions": ["Microsoft.Network/*", "Microsoft.Authorization/*/read"], "notActions": []}


@pytest.mark.parametrize(
    ("permissions", "action", "expected"),
    [
        ([NETWORK_CONTRIBUTOR], "Microsoft.Network/loadBalancers/write", True),
        ([NETWORK_CONTRIBUTOR], "microsoft.network/LOADBALANCERS/write", True),  # case-insensitive
        ([NETWORK_CONTRIBUTOR], "Microsoft.Compute/virtualMachines/read", False),
        ([{"actions": ["*/read"], "notActions": []}], "Microsoft.Compute/virtualMachines/read", True),
        (
            [{"actions": ["*"], "notActions": ["Microsoft.Network/*/delete"]}],
            "Microsoft.Network/loadBalancers/delete",
            False,
        ),
        # notActions subtract only from their own permission; another one may still grant it
        (
            [{"actions": ["*"], "notActions": ["Microsoft.Network/*/delete"]}, NETWORK_CONTRIBUTOR],
            "Microsoft.Network/loadBalancers/delete",
            True,
        ),
        ([], "Microsoft.Network/loadBalancers/write", False),
    ],
)
def test_effective_permissions(permissions: list[dict], action: str, expected: bool) -> None:
    assert allowed(permissions, action) is expected


def test_a_missing_action_is_refused_before_any_write_and_named(clients: Clients) -> None:
    """Read from the stand-in's Permissions API: its default identity holds everything but approving
    connections automatically (sandbox/arm/rbac.py)."""
    scope = f"/subscriptions/{TEAM_B}/resourceGroups/rg-team-b"
    require(clients, "create x", [Need(scope, ("Microsoft.Network/loadBalancers/write",))])
    approval = "Microsoft.Network/privateLinkServices/privateEndpointConnectionsApproval/action"
    with pytest.raises(CloudError) as refused:
        require(clients, "create x", [Need(scope, ("Microsoft.Network/loadBalancers/write", approval))])
    assert refused.value.code == "MissingPermissions"
    assert f"may not create x: it lacks {approval} at {scope}. Nothing was changed." in refused.value.message
    assert "loadBalancers/write" not in refused.value.message
