"""The real Azure CLI judges the ARM stand-in: the seed story, done by hand the way an operator would.

Only two settings differ from a real tenant: ``core.instance_discovery=false`` (the sandbox's
login endpoint is not one of Entra ID's known hosts) and the registered cloud's endpoints, which
``az cloud register`` reads from the sandbox's own ``/metadata/endpoints``. Everything the CLI
does from there (the OpenID discovery, the token, the subscription list, the provider
registration, the api-versions of each command, the long-running operations) is what it does
against Azure. Whatever the CLI needed that the sandbox lacked was added to the sandbox the way
ARM does it, never special-cased for the CLI.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.arm import launch
from tests.cli.azure_cli import Az, ensure_installed
from tests.conftest import TEAM_A, TEAM_B

# Slow: in a clean clone (CI) azure-cli is installed first. One xdist worker for the module: two
# workers would build the same .build/azure-cli-venv at once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("azure-cli")]

REGION = "japaneast"
B_RG, A_RG = "rg-team-b", "rg-team-a"
SUBNET_B = (
    f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/virtualNetworks/temp-vnet"
    "/subnets/default"
)


@pytest.fixture(scope="module")
def az_executable() -> Path:
    az, seconds = ensure_installed()
    if seconds:
        print(f"\nazure-cli installed in {seconds:.0f} s")
    return az


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[launch.RunningSandbox]:
    """A sandbox of its own, whose long-running operations take a moment, so the CLI really polls."""
    running = launch.start("--lro-seconds", "0.5", state=tmp_path / "arm.json")
    yield running
    assert running.stop() == 0


@pytest.fixture
def az(az_executable: Path, sandbox: launch.RunningSandbox, tmp_path: Path) -> Az:
    """The CLI logged in to the sandbox as its service principal, in a cloud registered from ARM's metadata."""
    cli = Az(az_executable, tmp_path / "azure-config", sandbox.ca_bundle)
    cli("config", "set", "core.instance_discovery=false")
    cli("cloud", "register", "--name", "NatlinkSandbox", "--endpoint-resource-manager", sandbox.arm_url)
    cli("cloud", "set", "--name", "NatlinkSandbox")
    c = sandbox.config
    accounts = cli(
        "login",
        "--service-principal",
        "-u",
        c["client_id"],
        "-p",
        c["client_secret"],
        "--tenant",
        c["tenant_id"],
    )
    assert {a["id"] for a in accounts} == {TEAM_A, TEAM_B}
    assert {a["tenantId"] for a in accounts} == {c["tenant_id"]}
    return cli


@pytest.mark.timeout(1500)  # a cold install of azure-cli, then the story
def test_the_seed_story_through_the_real_azure_cli(az: Az, sandbox: launch.RunningSandbox) -> None:
    started = time.monotonic()
    cloud = az("cloud", "show", "--name", "NatlinkSandbox")
    assert cloud["endpoints"]["activeDirectory"] == sandbox.config["authority_host"]
    assert cloud["endpoints"]["activeDirectoryResourceId"] == "https://management.core.windows.net/"

    # The provider: an internal Standard LB on temp-vnet/default. `az network lb create` would
    # submit an ARM template deployment (Microsoft.Resources/deployments), which the sandbox does
    # not serve, so the LB is created as a plain resource PUT with `az resource create`, which
    # reads the type's api-version from the provider registration as it does in Azure.
    lb = az(
        "resource", "create", "--subscription", TEAM_B, "-g", B_RG, "-n", "lb-rdp",
        "--resource-type", "Microsoft.Network/loadBalancers", "--is-full-object", "--properties",
        json.dumps(
            {
                "location": REGION,
                "sku": {"name": "Standard"},
                "properties": {
                    "frontendIPConfigurations": [
                        {"name": "fe", "properties": {"subnet": {"id": SUBNET_B}, "privateIPAllocationMethod": "Dynamic"}}
                    ],
                },
            }
        ),
    )  # fmt: skip
    assert lb["properties"]["frontendIPConfigurations"][0]["properties"]["privateIPAddress"] == "10.2.0.4"
    lb_args = ("--subscription", TEAM_B, "-g", B_RG, "--lb-name", "lb-rdp")
    az("network", "lb", "address-pool", "create", *lb_args, "-n", "pool")  # a PUT of the pool alone
    az("network", "lb", "probe", "create", *lb_args, "-n", "probe-rdp", "--protocol", "Tcp", "--port", "3389")
    az(
        "network", "lb", "rule", "create", *lb_args, "-n", "rule-rdp", "--protocol", "Tcp",
        "--frontend-port", "3389", "--backend-port", "3389", "--frontend-ip", "fe",
        "--backend-pool-name", "pool", "--probe-name", "probe-rdp",
    )  # fmt: skip
    az(
        "network", "nic", "ip-config", "address-pool", "add", "--subscription", TEAM_B, "-g", B_RG,
        "--nic-name", "vm-win2019-2-nic", "--ip-config-name", "ipconfig1", "--lb-name", "lb-rdp",
        "--address-pool", "pool",
    )  # fmt: skip
    pool = az("network", "lb", "address-pool", "show", *lb_args, "-n", "pool")
    assert [c["id"].split("/")[8] for c in pool["backendIPConfigurations"]] == ["vm-win2019-2-nic"]
    subnet = az(
        "network", "vnet", "subnet", "update", "--subscription", TEAM_B, "-g", B_RG, "--vnet-name", "temp-vnet",
        "-n", "default", "--private-link-service-network-policies", "Disabled",
    )  # fmt: skip
    assert subnet["privateLinkServiceNetworkPolicies"] == "Disabled"
    pls = az(
        "network", "private-link-service", "create", "--subscription", TEAM_B, "-g", B_RG, "-n", "pls-rdp",
        "-l", REGION, "--vnet-name", "temp-vnet", "--subnet", "default", "--lb-name", "lb-rdp",
        "--lb-frontend-ip-configs", "fe", "--visibility", TEAM_A,
    )  # fmt: skip
    alias = pls["alias"]
    assert alias.startswith("pls-rdp.") and alias.endswith(f".{REGION}.azure.privatelinkservice")
    listed = az(
        "resource",
        "list",
        "--subscription",
        TEAM_B,
        "-g",
        B_RG,
        "--resource-type",
        "Microsoft.Network/privateLinkServices",
    )
    assert [r["name"] for r in listed] == ["pls-rdp"]

    # The consumer: an endpoint by alias, with a manual request the provider must approve.
    pe = az(
        "network", "private-endpoint", "create", "--subscription", TEAM_A, "-g", A_RG, "-n", "pe-rdp",
        "-l", REGION, "--vnet-name", "RG-normal-vnet", "--subnet", "default",
        "--private-connection-resource-id", alias, "--connection-name", "conn-rdp",
        "--manual-request", "true", "--request-message", "natlink: RDP to VM-Win2019-2, please",
    )  # fmt: skip
    assert (
        pe["manualPrivateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"]
        == "Pending"
    )
    pls = az("network", "private-link-service", "show", "--subscription", TEAM_B, "-g", B_RG, "-n", "pls-rdp")
    [connection] = pls["privateEndpointConnections"]
    assert connection["privateLinkServiceConnectionState"]["status"] == "Pending"
    approved = az(
        "network", "private-link-service", "connection", "update", "--subscription", TEAM_B, "-g", B_RG,
        "--service-name", "pls-rdp", "-n", connection["name"], "--connection-status", "Approved",
        "--description", "approved by team B",
    )  # fmt: skip
    assert approved["privateLinkServiceConnectionState"]["status"] == "Approved"

    # Read back what each side sees: 10.2.0.4 (frontend), 10.2.0.6 (NAT IP), 10.0.0.5 (endpoint).
    frontend = az("network", "lb", "frontend-ip", "show", *lb_args, "-n", "fe")
    assert frontend["privateIPAddress"] == "10.2.0.4"
    nat_nic = az("network", "nic", "show", "--ids", pls["networkInterfaces"][0]["id"])
    assert nat_nic["ipConfigurations"][0]["privateIPAddress"] == "10.2.0.6"
    pe = az("network", "private-endpoint", "show", "--subscription", TEAM_A, "-g", A_RG, "-n", "pe-rdp")
    assert (
        pe["manualPrivateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"]
        == "Approved"
    )
    pe_nic = az("network", "nic", "show", "--ids", pe["networkInterfaces"][0]["id"])
    assert pe_nic["ipConfigurations"][0]["privateIPAddress"] == "10.0.0.5"

    # And the CLI meets ARM's refusal of an api-version it does not serve for the type.
    refused = az.fails("resource", "show", "--ids", lb["id"], "--api-version", "2014-01-01")
    assert "NoRegisteredProviderFound" in refused and "2026-03-01" in refused
    print(f"\nthe seed story through azure-cli took {time.monotonic() - started:.0f} s")
