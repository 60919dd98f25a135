"""The consumer side through cloud/ alone: visibility, requests with a token, idempotency."""

from __future__ import annotations

import pytest

from cloud.clients import Clients
from cloud.endpoints import SubnetRef, check_visibility, delete_endpoint, request_endpoint, request_message
from cloud.errors import CloudError
from cloud.expose import VmTarget, expose
from cloud.model import Service
from cloud.tokens import parse_token
from commands.validate import REASON_MAX
from sandbox.arm.launch import RunningSandbox
from tests.cloud.arm_log import requests
from tests.conftest import TEAM_A, TEAM_B


@pytest.fixture
def service(clients: Clients) -> Service:
    return expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389], visibility=[TEAM_A])


def test_a_request_from_a_vm_lands_in_its_subnet(
    sandbox: RunningSandbox, clients: Clients, service: Service
) -> None:
    steps: list[str] = []
    pe = request_endpoint(
        clients, service.alias, "vm-win2019", "pe-rdp", "natlink:req-1", "bob", "RDP", progress=steps.append
    )
    assert (pe.name, pe.subscription, pe.ip, pe.vnet_name, pe.status) == (
        "pe-rdp",
        TEAM_A,
        "10.0.0.5",
        "RG-normal-vnet",
        "Pending",
    )
    assert [(v.name, v.ip) for v in pe.subnet_vms] == [("VM-Win2019", "10.0.0.4")]
    assert steps == ["private endpoint pe-rdp: 10.0.0.5, request Pending"]
    body = next(r for r in sandbox.control("GET", "state")["resources"] if r["name"] == "pe-rdp")
    (link,) = body["properties"]["manualPrivateLinkServiceConnections"]
    assert link["properties"]["requestMessage"] == "natlink:req-1 bob: RDP"


def test_requesting_twice_with_the_same_token_makes_one_endpoint(
    sandbox: RunningSandbox, clients: Clients, service: Service
) -> None:
    first = request_endpoint(clients, service.id, "VM-Win2019", "pe-rdp", "natlink:req-1", "bob", "RDP")
    again = request_endpoint(clients, service.id, "VM-Win2019", "pe-rdp", "natlink:req-1", "bob", "RDP")
    assert again == first
    assert len(requests(sandbox, "PUT", "privateEndpoints/pe-rdp$")) == 1


def test_the_name_with_another_token_is_taken(
    sandbox: RunningSandbox, clients: Clients, service: Service
) -> None:
    request_endpoint(clients, service.alias, "VM-Win2019", "pe-rdp", "natlink:req-1", "bob", "RDP")
    with pytest.raises(CloudError) as caught:
        request_endpoint(clients, service.alias, "VM-Win2019", "pe-rdp", "natlink:req-2", "carol", "RDP")
    assert caught.value.code == "EndpointNameTaken" and "natlink:req-1" in caught.value.message
    assert len(requests(sandbox, "PUT", "privateEndpoints")) == 1


def test_a_subnet_named_by_vnet_and_subnet(clients: Clients, service: Service) -> None:
    where = SubnetRef(TEAM_A, "rg-NORMAL-vnet", "DEFAULT")
    pe = request_endpoint(clients, service.alias, where, "pe-sub", "natlink:req-3", "bob", "")
    assert (pe.ip, pe.subnet_id.lower()) == ("10.0.0.5", where_id().lower())


def where_id() -> str:
    return (
        f"/subscriptions/{TEAM_A}/resourceGroups/rg-team-a/providers/Microsoft.Network/"
        "virtualNetworks/RG-normal-vnet/subnets/default"
    )


@pytest.mark.parametrize(
    ("where", "code"),
    [
        (SubnetRef(TEAM_A, "no-vnet", "default"), "VirtualNetworkNotFound"),
        (SubnetRef(TEAM_A, "RG-normal-vnet", "nope"), "SubnetNotFound"),
        ("no-such-vm", "VmNotFound"),
    ],
)
def test_an_unknown_consumer(clients: Clients, service: Service, where: SubnetRef | str, code: str) -> None:
    with pytest.raises(CloudError) as caught:
        request_endpoint(clients, service.alias, where, "pe-x", "natlink:req-4", "bob", "")
    assert caught.value.code == code


def test_an_invisible_alias_fails_at_the_endpoint_step(sandbox: RunningSandbox, clients: Clients) -> None:
    hidden = expose(clients, "hidden", VmTarget("VM-Win2019-2"), [3389])
    with pytest.raises(CloudError) as caught:
        request_endpoint(clients, hidden.alias, "VM-Win2019", "pe-x", "natlink:req-5", "bob", "")
    assert (caught.value.code, caught.value.step) == (
        "PrivateLinkServiceAliasNotFound",
        "private endpoint pe-x",
    )


def test_visibility(clients: Clients, service: Service) -> None:
    assert check_visibility(clients, TEAM_A, "japaneast", service.alias) is True
    assert check_visibility(clients, TEAM_B, "japaneast", service.alias) is True, "the owner always sees it"
    hidden = expose(clients, "hidden", VmTarget("VM-Win2019-2"), [22])
    assert check_visibility(clients, TEAM_A, "japaneast", hidden.alias) is False


def test_the_token_survives_the_140_character_cut() -> None:
    message = request_message("natlink:Ab3_x9Zk-Q0", "a" * 200, "b" * 200)
    assert len(message) == 140 and message.startswith("natlink:Ab3_x9Zk-Q0 ")
    assert parse_token(message) == "natlink:Ab3_x9Zk-Q0"
    longest = "natlink:" + "x" * 32
    assert parse_token(request_message(longest, "r" * 500, "")) == longest
    assert request_message("natlink:req-1", "", "why") == "natlink:req-1 why"
    assert request_message("natlink:req-1", "U0BOB", "why") == "natlink:req-1 U0BOB: why"
    whole_reason = "r" * REASON_MAX  # the longest reason a person may give survives a long user ID
    issued = "natlink:r-" + "x" * 10  # TOKEN_MAX: the longest token natlink issues
    assert request_message(issued, "U07ABCDEFGH123", whole_reason) == f"{issued} {whole_reason}"
    with pytest.raises(CloudError) as caught:
        request_message("req-1", "bob", "")
    assert caught.value.code == "InvalidToken"


def test_delete_an_endpoint_twice(sandbox: RunningSandbox, clients: Clients, service: Service) -> None:
    pe = request_endpoint(clients, service.alias, "VM-Win2019", "pe-rdp", "natlink:req-1", "bob", "")
    delete_endpoint(clients, pe.id.upper().replace("/PROVIDERS/", "/providers/"))
    delete_endpoint(clients, pe.id)
    names = {r["name"] for r in sandbox.control("GET", "state")["resources"]}
    assert "pe-rdp" not in names and not any(n.startswith("pe-rdp.nic") for n in names)
