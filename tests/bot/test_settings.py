"""Every bot setting is checked at start, and each failure names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import BotSettings
from cloud.settings import SettingsError

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
    "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
    "NATLINK_ADMINS": "U0ADMIN,W0ORGADMIN",
    "NATLINK_SUBSCRIPTIONS": "11111111-1111-1111-1111-111111111111",
}


def test_defaults() -> None:
    settings = BotSettings.from_env(GOOD)
    assert (settings.port, settings.db_path, settings.api_url, settings.app_token) == (
        3000,
        Path("natlink.db"),
        None,
        None,
    )
    assert settings.admins == {"U0ADMIN", "W0ORGADMIN"}
    assert settings.allow_self_approval is False and settings.workers == 4


def test_sandbox_api_url_gets_its_slash() -> None:
    assert (
        BotSettings.from_env(GOOD | {"SLACK_API_URL": "http://127.0.0.1:9000/api"}).api_url
        == "http://127.0.0.1:9000/api/"
    )


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xapp-wrong-kind"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "has space"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_API_URL": "ftp://slack"}, "SLACK_API_URL"),
        ({"NATLINK_PORT": "http"}, "NATLINK_PORT"),
        ({"NATLINK_PORT": "70000"}, "NATLINK_PORT"),
        ({"NATLINK_ADMINS": ""}, "NATLINK_ADMINS"),
        ({"NATLINK_ADMINS": "alice"}, "NATLINK_ADMINS"),
        ({"NATLINK_ALLOW_SELF_APPROVAL": "maybe"}, "NATLINK_ALLOW_SELF_APPROVAL"),
        ({"NATLINK_WORKERS": "0"}, "NATLINK_WORKERS"),
        ({"NATLINK_SUBSCRIPTIONS": "not-a-guid"}, "NATLINK_SUBSCRIPTIONS"),
        ({"NATLINK_ARM_URL": "http://insecure"}, "NATLINK_ARM_URL"),
    ],
)
def test_bad_values_name_their_variable(change: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        BotSettings.from_env(GOOD | change)


def test_socket_mode_needs_an_app_token() -> None:
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        BotSettings.from_env(GOOD, socket_mode=True)
    assert (
        BotSettings.from_env(GOOD | {"SLACK_APP_TOKEN": "xapp-1-A-b"}, socket_mode=True).app_token
        == "xapp-1-A-b"
    )
