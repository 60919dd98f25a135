"""The sandbox as a process: its first line, its identity endpoints, restarts and shutdown."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential
from azure.mgmt.network import NetworkManagementClient

from sandbox.arm import launch
from tests.arm_story import B_RG, expose
from tests.conftest import TEAM_B, network_client


def test_default_azure_credential_through_the_environment(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    credential = DefaultAzureCredential(
        exclude_managed_identity_credential=True,
        disable_instance_discovery=True,
        connection_verify=sandbox.ca_bundle,
    )
    client = NetworkManagementClient(
        credential, TEAM_B, base_url=sandbox.arm_url, connection_verify=sandbox.ca_bundle
    )
    assert [v.name for v in client.virtual_networks.list_all()] == ["temp-vnet"]


def test_a_wrong_secret_gets_no_token(sandbox) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientSecretCredential

    c = sandbox.config
    wrong = ClientSecretCredential(
        c["tenant_id"],
        c["client_id"],
        "wrong",
        authority=c["authority_host"],
        disable_instance_discovery=True,
        connection_verify=c["ca_bundle"],
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        wrong.get_token("https://management.azure.com/.default")


def test_state_survives_a_restart(tmp_path: Path) -> None:
    from azure.identity import ClientSecretCredential

    state = tmp_path / "arm.json"
    first = launch.start(state=state)
    c = first.config
    credential = ClientSecretCredential(
        c["tenant_id"],
        c["client_id"],
        c["client_secret"],
        authority=c["authority_host"],
        disable_instance_discovery=True,
        connection_verify=c["ca_bundle"],
    )
    try:
        alias = expose(network_client(first, credential, TEAM_B)).alias
    finally:
        assert first.stop() == 0
    second = launch.start(state=state)
    try:
        assert {k: second.config[k] for k in ("tenant_id", "client_id", "ca_bundle")} == {
            k: c[k] for k in ("tenant_id", "client_id", "ca_bundle")
        }
        # The old port is gone, but the credential's cached token and the CA still work.
        client = NetworkManagementClient(
            credential, TEAM_B, base_url=second.arm_url, connection_verify=c["ca_bundle"]
        )
        assert client.private_link_services.get(B_RG, "pls-rdp").alias == alias
        assert (
            second.control("GET", "requests")["counts"][
                f"GET /subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/privateLinkServices/pls-rdp"
            ]
            == 1
        )
    finally:
        assert second.stop() == 0
    assert not list(tmp_path.glob(".arm-*")), "no temp file is left behind by the atomic save"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_natlink_sandbox_azure_command(tmp_path: Path, sig: signal.Signals) -> None:
    natlink = shutil.which("natlink", path=str(Path(sys.executable).parent))
    assert natlink, "the natlink console script is installed with the package"
    process = subprocess.Popen(
        [natlink, "sandbox", "azure", "--port", "0", "--empty", "--state", str(tmp_path / "s.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = json.loads(process.stdout.readline())
    assert set(first) >= {"arm_url", "authority_host", "tenant_id", "client_id", "client_secret", "ca_bundle"}
    assert first["arm_url"].startswith("https://127.0.0.1:")
    assert Path(first["ca_bundle"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert first["subscriptions"] == []
    process.send_signal(sig)
    assert process.wait(10) == 0
    assert "stopped" in process.stderr.read()


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.arm", "--lro-seconds", "-1"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--lro-seconds" in result.stderr
