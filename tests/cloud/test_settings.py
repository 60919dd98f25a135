"""Bad settings fail at start-up and name the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.settings import PUBLIC_ARM_URL, CloudSettings, SettingsError
from tests.conftest import TEAM_A, TEAM_B


def test_defaults_and_a_list_of_subscriptions() -> None:
    settings = CloudSettings.from_env({"NATLINK_SUBSCRIPTIONS": f" {TEAM_A}, {TEAM_B},{TEAM_A}"})
    assert settings == CloudSettings((TEAM_A, TEAM_B), PUBLIC_ARM_URL, None)
    assert settings.is_public_cloud


def test_a_sandbox_url_and_ca_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = CloudSettings.from_env(
        {
            "NATLINK_SUBSCRIPTIONS": TEAM_A,
            "NATLINK_ARM_URL": "https://127.0.0.1:8443/",
            "NATLINK_CA_BUNDLE": str(bundle),
        }
    )
    assert (settings.arm_url, settings.ca_bundle, settings.is_public_cloud) == (
        "https://127.0.0.1:8443",
        str(bundle),
        False,
    )


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({}, "NATLINK_SUBSCRIPTIONS"),
        ({"NATLINK_SUBSCRIPTIONS": " , "}, "NATLINK_SUBSCRIPTIONS"),
        ({"NATLINK_SUBSCRIPTIONS": f"{TEAM_A},team-b"}, "NATLINK_SUBSCRIPTIONS"),
        ({"NATLINK_SUBSCRIPTIONS": TEAM_A, "NATLINK_ARM_URL": "http://127.0.0.1:8443"}, "NATLINK_ARM_URL"),
        ({"NATLINK_SUBSCRIPTIONS": TEAM_A, "NATLINK_ARM_URL": "management.azure.com"}, "NATLINK_ARM_URL"),
        ({"NATLINK_SUBSCRIPTIONS": TEAM_A, "NATLINK_CA_BUNDLE": "/nonexistent/ca.pem"}, "NATLINK_CA_BUNDLE"),
    ],
)
def test_a_bad_value_names_its_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        CloudSettings.from_env(environ)
