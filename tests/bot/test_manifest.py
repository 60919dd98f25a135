"""app.yaml is a valid Slack app manifest, and `natlink manifest` fills in a deployment's URLs."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import yaml

from bot.manifest import MANIFEST, ManifestError, render
from tests.conftest import SHARED

SCHEMAS = SHARED / "reference" / "slack-manifest"


@pytest.mark.parametrize("schema", ["manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json"])
def test_app_yaml_validates_against_slacks_schema(schema: str) -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    jsonschema.validate(manifest, json.loads((SCHEMAS / schema).read_text()))


def test_the_schema_check_can_fail() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    manifest["features"]["slash_commands"][0]["usage_hint"] = "x" * 2000
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, json.loads((SCHEMAS / "manifest.schema.2.0.0.json").read_text()))


def test_the_command_and_least_scopes() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/natlink" and command["should_escape"] is True
    assert command["usage_hint"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "channels:read",
        "chat:write",
        "commands",
        "files:write",
        "groups:read",
        "im:write",
        "users:read",
    ]


def test_natlink_manifest_fills_in_the_url() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "manifest", "--url", "https://bot.team.example/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    manifest = yaml.safe_load(out)
    assert manifest["features"]["slash_commands"][0]["url"] == "https://bot.team.example/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == "https://bot.team.example/slack/events"
    assert "natlink.example.com" not in out


def test_socket_mode_manifest_has_no_urls() -> None:
    manifest = yaml.safe_load(render(None, socket_mode=True))
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "url" not in manifest["features"]["slash_commands"][0]
    assert "request_url" not in manifest["settings"]["interactivity"]
    jsonschema.validate(manifest, json.loads((SCHEMAS / "manifest.schema.2.0.0.json").read_text()))


@pytest.mark.parametrize(
    "url", ["http://bot.example", "https://bot.example/slack/events", "bot.example", "https://"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ManifestError, match="--url must be an https origin"):
        render(url)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "manifest", "--url", url], capture_output=True, text=True
    )
    assert result.returncode == 2 and "--url must be an https origin" in result.stderr


def test_the_home_tab_and_its_event() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    socket = yaml.safe_load(render(None, socket_mode=True))
    assert socket["settings"]["event_subscriptions"] == {"bot_events": ["app_home_opened"]}
    http = yaml.safe_load(render("https://bot.team.example"))
    assert http["settings"]["event_subscriptions"]["request_url"] == "https://bot.team.example/slack/events"
