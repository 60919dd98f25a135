"""Fixtures for the sweep and scheduler tests: a natlink-managed rdp-vmb on the seed world, a store, natlink's clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.expose import VmTarget, expose
from commands.context import Config
from storage import owners, services
from storage.database import open_database
from tests.cloud.conftest import azure_env, clients  # noqa: F401 - fixtures shared with the cloud tests
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.conftest import slack, slack_process  # noqa: F401 - the Slack stand-in, shared with e2e

OWNER_CHANNEL = "C0TEAMB"


@pytest.fixture
def config() -> Config:
    return Config(frozenset({"U0ADMIN"}), False, (TEAM_A, TEAM_B))


@pytest.fixture
def db(tmp_path: Path):
    return open_database(tmp_path / "natlink.db")


@pytest.fixture
def managed(db, clients):  # noqa: F811 - the fixture imported above
    """rdp-vmb exposed through cloud/ and recorded as `/natlink create` would record it."""
    service = expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), ports=(3389,), visibility=(TEAM_A,))
    stored = services.upsert_service(
        db,
        name="rdp-vmb",
        pls_id=service.id,
        subscription=TEAM_B,
        resource_group="rg-team-b",
        location="japaneast",
        alias=service.alias or "",
        created_by="U0ALICE",
        owner_channel=OWNER_CHANNEL,
        lb_managed=True,
        details={"ports": [3389], "visibility": [TEAM_A]},
    )
    owners.add_owner(db, "rdp-vmb", "U0ALICE", added_by="U0ALICE")
    return stored


@pytest.fixture
def web(slack):  # noqa: F811 - the fixture imported above
    """natlink's own kind of WebClient (429s retried), pointed at the Slack stand-in."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    return WebClient(
        token=slack.bot_token, base_url=slack.api_url, retry_handlers=[RateLimitErrorRetryHandler(5)]
    )
