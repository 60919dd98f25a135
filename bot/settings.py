"""The bot's settings, read once from the environment and checked before anything starts.

A wrong or missing value stops ``natlink serve`` with a message naming the variable, instead of
failing later on the first Slack request. Azure's settings are ``cloud``'s, composed in here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from cloud.settings import CloudSettings, SettingsError
from commands import validate

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class BotSettings:
    bot_token: str
    signing_secret: str
    app_token: str | None
    api_url: str | None
    db_path: Path
    host: str
    port: int
    admins: frozenset[str]
    allow_self_approval: bool
    workers: int
    stale_seconds: int
    schedule: Schedule
    cloud: CloudSettings

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, socket_mode: bool = False) -> BotSettings:
        return cls(
            bot_token=_token(environ, "SLACK_BOT_TOKEN", "xoxb-"),
            signing_secret=_secret(environ),
            app_token=_token(environ, "SLACK_APP_TOKEN", "xapp-") if socket_mode else None,
            api_url=_api_url(environ.get("SLACK_API_URL") or None),
            db_path=Path(environ.get("NATLINK_DB") or "natlink.db"),
            host=environ.get("NATLINK_HOST") or "0.0.0.0",
            port=_integer(environ, "NATLINK_PORT", 3000, 1, 65535),
            admins=_admins(environ.get("NATLINK_ADMINS", "")),
            allow_self_approval=_flag(environ, "NATLINK_ALLOW_SELF_APPROVAL"),
            workers=_integer(environ, "NATLINK_WORKERS", 4, 1, 64),
            stale_seconds=_integer(environ, "NATLINK_STALE_SECONDS", 30, 2, 3600),
            schedule=Schedule.from_env(environ),
            cloud=CloudSettings.from_env(environ),
        )


@dataclass(frozen=True)
class Schedule:
    """When the scheduler's jobs run (NATLINK_SWEEP_SECONDS, NATLINK_DIGEST_CRON, NATLINK_TZ, NATLINK_REMIND_AFTER)."""

    sweep_seconds: int = 300
    digest_cron: str = "0 9 * * *"
    timezone: str = "UTC"
    remind_after: timedelta = timedelta(hours=24)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Schedule:
        tz = environ.get("NATLINK_TZ") or "UTC"
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"NATLINK_TZ must be an IANA time zone such as Asia/Tokyo, not {tz!r}."
            ) from None
        cron = environ.get("NATLINK_DIGEST_CRON") or "0 9 * * *"
        try:
            CronTrigger.from_crontab(cron, timezone=tz)
        except ValueError as error:
            raise SettingsError(
                f"NATLINK_DIGEST_CRON must be a crontab line such as '0 9 * * *': {error}"
            ) from None
        remind = environ.get("NATLINK_REMIND_AFTER") or "24h"
        try:
            remind_after = validate.duration(remind)
        except validate.InvalidValue as error:
            raise SettingsError(f"NATLINK_REMIND_AFTER: {error}") from None
        return cls(_integer(environ, "NATLINK_SWEEP_SECONDS", 300, 10, 86400), cron, tz, remind_after)


def _token(environ: Mapping[str, str], name: str, prefix: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is required.")
    if not value.startswith(prefix):
        raise SettingsError(f"{name} must be a token starting with {prefix!r}.")
    return value


def _secret(environ: Mapping[str, str]) -> str:
    value = environ.get("SLACK_SIGNING_SECRET", "")
    if not value.strip():
        raise SettingsError(
            "SLACK_SIGNING_SECRET is required: the app's signing secret from its Basic Information page."
        )
    if value != value.strip() or " " in value:
        raise SettingsError("SLACK_SIGNING_SECRET must not contain spaces.")
    return value


def _api_url(raw: str | None) -> str | None:
    """Slack's WebClient joins method names onto this, so it must end in a slash."""
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"SLACK_API_URL must be an http(s) URL such as https://slack.com/api/, not {raw!r}."
        )
    return raw if raw.endswith("/") else raw + "/"


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, not {raw!r}.")
    return int(raw)


def _admins(raw: str) -> frozenset[str]:
    ids = [item.strip() for item in raw.split(",") if item.strip()]
    if not ids:
        raise SettingsError("NATLINK_ADMINS is required: a comma-separated list of Slack user IDs (U...).")
    bad = [item for item in ids if not _USER_ID.match(item)]
    if bad:
        raise SettingsError(f"NATLINK_ADMINS has values that are not Slack user IDs: {', '.join(bad)}")
    return frozenset(ids)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw not in _TRUE | _FALSE:
        raise SettingsError(f"{name} must be true or false, not {raw!r}.")
    return raw in _TRUE
