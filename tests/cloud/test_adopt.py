"""cloud/adopt.py through the real SDK: a service found by ID or by a unique name, two services
with one name never told apart by guessing, and the scan of what could be adopted."""

from __future__ import annotations

import pytest
from azure.mgmt.network import NetworkManagementClient

from cloud.adopt import find, scan
from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.expose import VmTarget, expose
from sandbox.arm.seed import AKS_GROUP, AKS_PLS, TF_GROUP, TF_PLS
from tests.arm_story import B_RG, create_lb, disable_pls_policies, pls_body
from tests.conftest import TEAM_A, TEAM_B

TF_ID = f"/subscriptions/{TEAM_B}/resourceGroups/{TF_GROUP}/providers/Microsoft.Network/privateLinkServices/{TF_PLS}"


@pytest.fixture(autouse=True)
def seed_world(sandbox) -> None:
    """The sandbox's default world, with the services natlink did not make (the other tests run on
    the walkthrough alone)."""
    sandbox.control("POST", "reset", {"world": "seed"})


def test_by_name_and_by_id_the_same_service(clients: Clients) -> None:
    by_name = find(clients, (TEAM_A, TEAM_B), TF_PLS.upper())
    assert by_name == find(clients, (TEAM_A, TEAM_B), TF_ID)
    assert (by_name.resource_group, by_name.load_balancer, by_name.pending, by_name.connections) == (
        TF_GROUP,
        "lb-orders-api",
        2,
        2,
    )
    assert not by_name.natlink_made and dict(by_name.tags)["managed-by"] == "terraform"


def test_two_services_with_one_name_ask_for_the_id(clients: Clients, net_b: NetworkManagementClient) -> None:
    create_lb(net_b)
    disable_pls_policies(net_b)
    net_b.private_link_services.begin_create_or_update(B_RG, TF_PLS, pls_body()).result()
    with pytest.raises(CloudError) as caught:
        find(clients, (TEAM_A, TEAM_B), TF_PLS)
    assert caught.value.code == "AmbiguousPrivateLinkServiceName"
    assert TF_ID in caught.value.message and "resource ID" in caught.value.hint
    assert find(clients, (TEAM_A, TEAM_B), TF_ID).resource_group == TF_GROUP


def test_an_unknown_name_says_where_natlink_looked(clients: Clients) -> None:
    with pytest.raises(CloudError) as caught:
        find(clients, (TEAM_A,), TF_PLS)
    assert caught.value.code == "PrivateLinkServiceNotFound"
    assert f"subscription {TEAM_A}" in caught.value.message and "--scan" in caught.value.hint
    with pytest.raises(CloudError) as missing:
        find(clients, (TEAM_A, TEAM_B), TF_ID.replace(TF_PLS, "nope"))
    assert missing.value.code == "ServiceNotFound"


def test_the_scan_tells_natlinks_own_from_the_rest(clients: Clients) -> None:
    expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), ports=(3389,), visibility=[TEAM_A])
    found = scan(clients, (TEAM_A, TEAM_B))
    made = {(s.name, s.resource_group, s.natlink_made) for s in found.services}
    assert made >= {(TF_PLS, TF_GROUP, False), (AKS_PLS, AKS_GROUP, False), ("rdp-vmb", "rg-team-b", True)}
    assert found.unreadable == ()
