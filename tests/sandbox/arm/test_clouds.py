"""Clouds other than public Azure (issue 9, rule 11): one cloud's ARM URL, authority and token audience
go together, in the stand-in and in natlink.

The stand-in plays one cloud. Its Entra ID issues tokens only for resources that cloud has
(AADSTS500011 otherwise), its ARM takes only tokens for its own audience (401
InvalidAuthenticationTokenAudience otherwise), and its ``/metadata/endpoints`` says which login
endpoint and audiences belong together, without a token, as ARM does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core import PipelineClient
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient

from cloud import inventory
from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.settings import CloudSettings, SettingsError
from sandbox.arm import launch
from tests.conftest import TEAM_A, TEAM_B

# One xdist worker for the module: gov_sandbox (a second ARM stand-in) is started once.
pytestmark = pytest.mark.xdist_group("arm-clouds")

GOV_ARM = "https://management.usgovcloudapi.net"


@pytest.fixture(scope="module")
def gov_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launch.RunningSandbox]:
    running = launch.start("--cloud", "AzureUSGovernment", state=tmp_path_factory.mktemp("gov") / "arm.json")
    yield running
    assert running.stop() == 0


def _credential(sandbox: launch.RunningSandbox) -> ClientSecretCredential:
    c = sandbox.config
    return ClientSecretCredential(
        c["tenant_id"],
        c["client_id"],
        c["client_secret"],
        authority=c["authority_host"],
        disable_instance_discovery=True,
        connection_verify=c["ca_bundle"],
    )


def _network(sandbox: launch.RunningSandbox, scope: str) -> NetworkManagementClient:
    return NetworkManagementClient(
        _credential(sandbox),
        TEAM_B,
        base_url=sandbox.arm_url,
        connection_verify=sandbox.ca_bundle,
        credential_scopes=[scope],
    )


def _anonymous(sandbox: launch.RunningSandbox) -> PipelineClient:
    """No credential at all: clients read the metadata before they can log in."""
    return PipelineClient(
        base_url=sandbox.arm_url, transport=RequestsTransport(connection_verify=sandbox.ca_bundle)
    )


# ------------------------------------------------------------ the stand-in
def test_metadata_endpoints_need_no_token(sandbox) -> None:
    client = _anonymous(sandbox)
    url = f"{sandbox.arm_url}/metadata/endpoints?api-version="
    current = client.send_request(HttpRequest("GET", url + "2022-09-01")).json()
    assert current["name"] == "AzureCloud"
    assert current["authentication"]["loginEndpoint"] == sandbox.config["authority_host"]
    assert current["authentication"]["audiences"] == [
        "https://management.core.windows.net/",
        "https://management.azure.com/",
    ]
    assert current["resourceManager"].rstrip("/") == sandbox.arm_url
    listed = client.send_request(HttpRequest("GET", url + "2019-05-01")).json()
    assert isinstance(listed, list) and listed[0]["name"] == "AzureCloud"
    legacy = client.send_request(HttpRequest("GET", url + "2015-01-01")).json()
    assert legacy["authentication"]["audiences"][0] == "https://management.core.windows.net/"
    refused = client.send_request(HttpRequest("GET", url + "2016-01-01"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "InvalidApiVersionParameter")
    # Everything else still needs a token.
    arm = client.send_request(HttpRequest("GET", f"{sandbox.arm_url}/subscriptions?api-version=2022-12-01"))
    assert arm.status_code == 401


def test_a_sandbox_for_another_cloud_says_so(gov_sandbox) -> None:
    url = f"{gov_sandbox.arm_url}/metadata/endpoints?api-version=2022-09-01"
    current = _anonymous(gov_sandbox).send_request(HttpRequest("GET", url)).json()
    assert (current["name"], gov_sandbox.config["cloud"]) == ("AzureUSGovernment", "AzureUSGovernment")
    assert current["authentication"]["audiences"] == [
        "https://management.core.usgovcloudapi.net/",
        "https://management.usgovcloudapi.net/",
    ]


def test_entra_id_issues_no_token_for_another_clouds_arm(sandbox) -> None:
    with pytest.raises(ClientAuthenticationError) as got:
        _credential(sandbox).get_token(f"{GOV_ARM}/.default")
    assert "AADSTS500011" in got.value.message and GOV_ARM in got.value.message


def test_arm_takes_each_of_its_audiences(sandbox) -> None:
    for scope in (
        "https://management.azure.com/.default",
        "https://management.core.windows.net//.default",  # what azure-cli asks for
    ):
        assert _network(sandbox, scope).virtual_networks.get("rg-team-b", "temp-vnet").name == "temp-vnet"


def test_arm_refuses_a_token_for_another_audience(sandbox) -> None:
    graph = _network(sandbox, "https://graph.microsoft.com/.default")  # a real token, for Microsoft Graph
    with pytest.raises(HttpResponseError) as got:
        graph.virtual_networks.get("rg-team-b", "temp-vnet")
    assert (got.value.status_code, got.value.error.code) == (401, "InvalidAuthenticationTokenAudience")
    assert got.value.error.message == (
        "The access token has been obtained for wrong audience or resource 'https://graph.microsoft.com'. "
        "It should exactly match with one of the allowed audiences 'https://management.core.windows.net/',"
        "'https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
    )


def test_a_government_arm_refuses_a_public_token(sandbox, gov_sandbox) -> None:
    with pytest.raises(ClientAuthenticationError) as got:
        _credential(gov_sandbox).get_token("https://management.azure.com/.default")
    assert "AADSTS500011" in got.value.message
    gov = _network(gov_sandbox, f"{GOV_ARM}/.default")
    assert gov.virtual_networks.get("rg-team-b", "temp-vnet").name == "temp-vnet"


# ------------------------------------------------------------------ natlink
def test_natlink_cloud_sets_url_authority_and_scope_together() -> None:
    gov = CloudSettings.from_env({"NATLINK_SUBSCRIPTIONS": TEAM_A, "NATLINK_CLOUD": "AzureUSGovernment"})
    assert (gov.arm_url, gov.cloud.authority_host, gov.cloud.scope) == (
        GOV_ARM,
        "https://login.microsoftonline.us",
        f"{GOV_ARM}/.default",
    )
    assert gov.is_public_cloud and gov.authority_host is None
    china = CloudSettings.from_env({"NATLINK_SUBSCRIPTIONS": TEAM_A, "NATLINK_CLOUD": "azurechinacloud"})
    assert (china.arm_url, china.cloud.authority_host) == (
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
    )
    bare = {"NATLINK_SUBSCRIPTIONS": TEAM_A, "AZURE_AUTHORITY_HOST": "login.microsoftonline.us"}
    assert CloudSettings.from_env(bare).authority_host == "https://login.microsoftonline.us"
    public = CloudSettings.from_env({"NATLINK_SUBSCRIPTIONS": TEAM_A})
    assert (public.cloud.name, public.cloud.scope) == ("AzureCloud", "https://management.azure.com/.default")
    sandbox = CloudSettings.from_env(
        {
            "NATLINK_SUBSCRIPTIONS": TEAM_A,
            "NATLINK_CLOUD": "AzureUSGovernment",
            "NATLINK_ARM_URL": "https://127.0.0.1:8443",
            "AZURE_AUTHORITY_HOST": "https://127.0.0.1:8443/",
        }
    )
    assert (sandbox.arm_url, sandbox.authority_host, sandbox.cloud.scope) == (
        "https://127.0.0.1:8443",
        "https://127.0.0.1:8443",
        f"{GOV_ARM}/.default",
    )
    assert not sandbox.is_public_cloud


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"NATLINK_CLOUD": "AzureGermanCloud"}, "NATLINK_CLOUD"),
        ({"AZURE_AUTHORITY_HOST": "http://login.microsoftonline.us"}, "AZURE_AUTHORITY_HOST"),
    ],
)
def test_a_bad_cloud_setting_names_its_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        CloudSettings.from_env({"NATLINK_SUBSCRIPTIONS": TEAM_A} | environ)


def test_the_clients_ask_their_clouds_authority(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_AUTHORITY_HOST", raising=False)
    gov = Clients(
        CloudSettings.from_env({"NATLINK_SUBSCRIPTIONS": TEAM_A, "NATLINK_CLOUD": "AzureUSGovernment"})
    )
    assert gov.authority == "https://login.microsoftonline.us"
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "https://127.0.0.1:8443")
    assert gov.authority == "https://127.0.0.1:8443"  # azure-identity's own variable still wins


def _natlink(sandbox: launch.RunningSandbox, cloud: str, monkeypatch: pytest.MonkeyPatch) -> Clients:
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    settings = CloudSettings.from_env(
        {
            "NATLINK_SUBSCRIPTIONS": f"{TEAM_A},{TEAM_B}",
            "NATLINK_CLOUD": cloud,
            "NATLINK_ARM_URL": sandbox.arm_url,
            "NATLINK_CA_BUNDLE": sandbox.ca_bundle,
            "AZURE_AUTHORITY_HOST": sandbox.config["authority_host"],
        }
    )
    return Clients(settings, polling_interval=0.05)


def test_natlink_for_government_against_public_azure_is_told_why(sandbox, monkeypatch) -> None:
    clients = _natlink(sandbox, "AzureUSGovernment", monkeypatch)
    with pytest.raises(CloudError) as got:
        inventory.snapshot(clients, (TEAM_A, TEAM_B))
    assert got.value.code == "ClientAuthenticationError"
    assert got.value.message.startswith(
        f"NATLINK_CLOUD is AzureUSGovernment, but the identity provider at {sandbox.config['authority_host']} "
        f"does not know its ARM ({GOV_ARM}): set NATLINK_CLOUD to the cloud your tenant is in"
    )
    assert "AADSTS500011" in got.value.message
    assert (
        sandbox.control("GET", "requests")["counts"].get(
            f"GET /subscriptions/{TEAM_A}/providers/Microsoft.Network/privateLinkServices"
        )
        is None
    )


def test_natlink_for_government_against_government_works(gov_sandbox, monkeypatch) -> None:
    clients = _natlink(gov_sandbox, "AzureUSGovernment", monkeypatch)
    snapshot = inventory.snapshot(clients, (TEAM_A, TEAM_B))
    assert snapshot.unreadable == () and snapshot.subscriptions == (TEAM_A, TEAM_B)
    token = clients.credential.get_token(f"{GOV_ARM}/.default")
    assert token.token


def test_natlink_for_public_azure_against_government_is_told_why(gov_sandbox, monkeypatch) -> None:
    clients = _natlink(gov_sandbox, "AzureCloud", monkeypatch)
    with pytest.raises(CloudError, match="NATLINK_CLOUD is AzureCloud"):
        inventory.snapshot(clients, (TEAM_A,))
