"""``natlink doctor``: check a deployment before anyone types /natlink, one table, one exit code.

Each check is one row, ✓ or ✗, and every ✗ says how to fix it; exit 0 (all good), 1 (a blocker)
or 2 (bad settings, with the message ``serve`` gives). ``natlink serve`` runs the same checks at
start and logs the same table, but refuses to start only on what stops natlink working at all
(settings, Slack, the token, the database): an unreadable subscription, a missing Azure action or
a silent Azure Monitor is logged, because natlink is built to go on without them (a sweep reports
the subscription, a verb names the missing action before its first write, signals read unknown).

Every check is one cheap call, and the Azure ones run per subscription at once, so serve starts
in well under a second against a near ARM.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackRequestError

from cloud import metrics, permissions, reach, roles, watcher
from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.model import Unreadable
from cloud.settings import SettingsError
from storage.database import probe
from storage.migrations import LATEST_VERSION

from .app import web_client
from .manifest import bot_scopes
from .settings import BotSettings

log = logging.getLogger("natlink")
SIGNING_SECRET_LENGTH = 32  # Slack's signing secrets are 32 hex characters (the app's Basic Information)
FALLBACK_REGION = "eastus"  # Azure Monitor is asked about a region with no services: it answers empty


@dataclass(frozen=True)
class Check:
    """One row: what was checked, what was found, and for a ✗ the fix. ``blocks_serve``: whether
    ``serve`` refuses to start on it (``doctor`` exits 1 on any ✗)."""

    name: str
    ok: bool
    found: str
    fix: str = ""
    blocks_serve: bool = True


def main(socket_mode: bool, environ: Mapping[str, str] = os.environ) -> int:
    """``natlink doctor [--socket-mode]``: print the table; 0, 1 or 2."""
    try:
        settings = BotSettings.from_env(environ, socket_mode=socket_mode)
    except SettingsError as error:
        print(f"natlink doctor: {error}", file=sys.stderr)
        return 2
    checks = run(settings, socket_mode)
    print(table(checks))
    return 0 if all(c.ok for c in checks) else 1


def at_start(settings: BotSettings, socket_mode: bool) -> bool:
    """``serve``'s check: log the table; False (refuse to start) on a blocker."""
    checks = run(settings, socket_mode)
    blocked = [c for c in checks if not c.ok and c.blocks_serve]
    level = logging.ERROR if blocked else logging.WARNING if not all(c.ok for c in checks) else logging.INFO
    log.log(level, "natlink doctor:\n%s", table(checks))
    if blocked:
        log.error("natlink serve: refusing to start: %s", "; ".join(c.name for c in blocked))
    return not blocked


def run(settings: BotSettings, socket_mode: bool) -> list[Check]:
    """Every check, in the order an operator would fix them."""
    settings_row = Check("settings", True, "every setting reads as serve reads it")
    return [
        settings_row,
        *slack_checks(settings, socket_mode),
        *azure_checks(settings),
        database_check(settings),
    ]


def table(checks: list[Check]) -> str:
    """The rows, aligned; each ✗ followed by its fix."""
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        lines.append(f"{'✓' if check.ok else '✗'} {check.name.ljust(width)}  {check.found}")
        if not check.ok and check.fix:
            lines.append(f"  {''.ljust(width)}  fix: {check.fix}")
    return "\n".join(lines)


# -- Slack ---------------------------------------------------------------------------------------


def slack_checks(settings: BotSettings, socket_mode: bool) -> list[Check]:
    rows = [_auth_and_scopes(settings), _signing_secret(settings.signing_secret)]
    if socket_mode:
        rows.append(Check("Slack app token", True, "SLACK_APP_TOKEN is an xapp- token (Socket Mode)"))
    return rows


def _auth_and_scopes(settings: BotSettings) -> Check:
    """``auth.test`` with the bot token; Slack sends the token's scopes in ``x-oauth-scopes`` with it
    (api.slack.com, "Using OAuth scopes"), so one call checks both."""
    try:
        answer = web_client(settings).auth_test()
    except SlackApiError as error:
        return Check(
            "Slack auth.test",
            False,
            f"Slack refused the bot token: {error.response.get('error')}",
            "copy the Bot User OAuth Token (xoxb-) from the app's OAuth & Permissions page into "
            "SLACK_BOT_TOKEN; reinstall the app if it was revoked",
        )
    except (SlackRequestError, OSError) as error:
        return Check(
            "Slack auth.test", False, f"Slack did not answer: {error}", "check SLACK_API_URL and the network"
        )
    headers = {k.lower(): v for k, v in (answer.headers or {}).items()}
    granted = {s.strip() for s in str(headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
    missing = [s for s in bot_scopes() if s not in granted]
    return _scopes_row(f"{answer.get('user')} in {answer.get('team')}", missing)


COSMETIC_SCOPES = {"users:read": 'notifications say "someone" instead of people\'s names'}
"""Scopes natlink works without, and what is lost: ``serve`` starts without them (bot/names.py)."""


def _scopes_row(who: str, missing: list[str]) -> Check:
    if not missing:
        return Check("Slack auth.test and scopes", True, f"{who}; every scope natlink needs is granted")
    lost = "".join(f" ({COSMETIC_SCOPES[s]})" for s in missing if s in COSMETIC_SCOPES)
    return Check(
        "Slack auth.test and scopes",
        False,
        f"{who}; the bot token lacks {', '.join(missing)}{lost}",
        "add them under the app's OAuth & Permissions (or `natlink manifest`), then reinstall the app",
        blocks_serve=any(s not in COSMETIC_SCOPES for s in missing),
    )


def _signing_secret(secret: str) -> Check:
    shaped = len(secret) == SIGNING_SECRET_LENGTH and all(c in "0123456789abcdef" for c in secret.lower())
    if shaped:
        return Check("Slack signing secret", True, "32 hex characters")
    return Check(
        "Slack signing secret",
        False,
        f"SLACK_SIGNING_SECRET is {len(secret)} characters, not Slack's 32 hex: every request would be refused",
        "copy the Signing Secret (not the client secret or a token) from the app's Basic Information page",
    )


# -- Azure ---------------------------------------------------------------------------------------


def azure_checks(settings: BotSettings) -> list[Check]:
    clients = Clients(settings.cloud)
    problem = reach.token_problem(clients)
    if problem:
        fix = "check AZURE_TENANT_ID, AZURE_CLIENT_ID and the secret or managed identity, and NATLINK_CLOUD"
        return [Check("Azure token", False, problem, fix)]
    token = Check("Azure token", True, f"Entra ID issued a token for {settings.cloud.cloud.name}'s ARM")
    subs = settings.cloud.subscriptions
    rows = clients.per_subscription(subs, lambda sub: _subscription_checks(clients, sub))
    return [token, *(row for per_sub in rows for row in per_sub), *_capture_checks(clients, settings)]


def _subscription_checks(clients: Clients, sub: str) -> list[Check]:
    found = reach.regions(clients, sub)
    if isinstance(found, Unreadable):
        readable = Check(
            f"Azure {sub}",
            False,
            f"not readable: {found.code}: {found.message}",
            "assign natlink's role on this subscription (`natlink role --side provider|consumer`) or "
            "remove it from NATLINK_SUBSCRIPTIONS",
            blocks_serve=False,
        )
    else:
        readable = Check(f"Azure {sub}", True, "readable")
    region = found[0] if isinstance(found, tuple) and found else FALLBACK_REGION
    regions = found if isinstance(found, tuple) else ()
    return [
        readable,
        _permissions_check(clients, sub),
        _monitor_check(clients, sub, region),
        *(_watcher_check(clients, sub, r) for r in regions),
    ]


def _watcher_check(clients: Clients, sub: str, region: str) -> Check:
    """``/natlink verify`` runs on Network Watcher: one per region natlink's VMs are in."""
    name = f"Network Watcher {sub} {region}"
    try:
        found = watcher.watcher_for(clients, sub, region)
    except CloudError as error:
        return Check(name, False, error.message, error.hint or "", blocks_serve=False)
    return Check(name, True, f"{found.name} (verify can check links here)")


def _capture_checks(clients: Clients, settings: BotSettings) -> list[Check]:
    """``verify --capture`` writes to NATLINK_CAPTURE_STORAGE; unset is fine (captures are refused)."""
    if not settings.cloud.capture_storage:
        return []
    name = "capture storage (NATLINK_CAPTURE_STORAGE)"
    try:
        store = watcher.capture_store(clients, settings.cloud.capture_storage)
    except CloudError as error:
        return [Check(name, False, f"{error.code}: {error.message}", error.hint or "", blocks_serve=False)]
    return [Check(name, True, f"{store.name}: blob endpoint and key readable")]


def _permissions_check(clients: Clients, sub: str) -> Check:
    """Effective actions at subscription scope against both roles: settings do not say which side a
    subscription is, so a missing action matters only where its side's verbs run."""
    name = f"Azure permissions {sub}"
    wanted = roles.actions("all")
    missing = permissions.missing_at(clients, f"/subscriptions/{sub}", wanted)
    if missing is None:
        fix = (
            "let natlink's identity read Microsoft.Authorization/permissions (every caller may read its own)"
        )
        return Check(name, False, "the Permissions API did not answer", fix, blocks_serve=False)
    if not missing:
        return Check(name, True, f"all {len(wanted)} of natlink's actions")
    by_advice: dict[str, list[str]] = {}
    for action in missing:
        by_advice.setdefault(roles.granting(action).advice, []).append(action)
    fix = "; ".join(f"{advice}: {', '.join(actions)}" for advice, actions in by_advice.items())
    found = (
        f"lacks {len(missing)} of natlink's actions at /subscriptions/{sub}: {', '.join(missing)} "
        "(a provider action matters only where services live, a consumer one where endpoints are requested)"
    )
    return Check(name, False, found, fix, blocks_serve=False)


def _monitor_check(clients: Clients, sub: str, region: str) -> Check:
    silent = metrics.answers(clients, sub, region)
    if silent is None:
        return Check(f"Azure Monitor {sub}", True, f"answers (metrics in {region})")
    return Check(
        f"Azure Monitor {sub}",
        False,
        f"{silent.code}: {silent.message}",
        "grant Microsoft.Insights/metrics/read (in natlink's roles); until then probe health and NAT usage read unknown",
        blocks_serve=False,
    )


# -- storage -------------------------------------------------------------------------------------


def database_check(settings: BotSettings) -> Check:
    name = "database"
    try:
        version = probe(settings.db_path)
    except (OSError, sqlite3.Error) as error:
        fix = f"make {settings.db_path} and its directory writable by natlink's user, or set NATLINK_DB"
        return Check(name, False, f"{settings.db_path} is not writable: {error}", fix)
    if version > LATEST_VERSION:
        found = f"schema {version} is newer than this natlink's {LATEST_VERSION}"
        return Check(name, False, found, "run the natlink release that wrote this database, or a newer one")
    if version < LATEST_VERSION:
        pending = f"schema {version} of {LATEST_VERSION}: serve applies the {LATEST_VERSION - version} pending at start"
        return Check(name, True, f"{settings.db_path} writable; {pending}")
    return Check(name, True, f"{settings.db_path} writable; schema {version}, current")
