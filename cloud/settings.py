"""Where natlink finds Azure: read once from the environment and validated up front.

A bad value fails at start-up with the variable's name, not later as an obscure TLS or HTTP
error. The authority host (AZURE_AUTHORITY_HOST) is read by azure-identity itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PUBLIC_ARM_URL = "https://management.azure.com"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class SettingsError(ValueError):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True)
class CloudSettings:
    subscriptions: tuple[str, ...]
    arm_url: str = PUBLIC_ARM_URL
    ca_bundle: str | None = None

    @property
    def is_public_cloud(self) -> bool:
        """Instance discovery only makes sense against Azure's own authority."""
        return self.arm_url.rstrip("/").lower() == PUBLIC_ARM_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CloudSettings:
        return cls(
            subscriptions=_subscriptions(environ.get("NATLINK_SUBSCRIPTIONS", "")),
            arm_url=_arm_url(environ.get("NATLINK_ARM_URL") or PUBLIC_ARM_URL),
            ca_bundle=_ca_bundle(environ.get("NATLINK_CA_BUNDLE") or None),
        )


def _subscriptions(raw: str) -> tuple[str, ...]:
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise SettingsError("NATLINK_SUBSCRIPTIONS is required: a comma-separated list of subscription IDs.")
    bad = [item for item in items if not _GUID.match(item)]
    if bad:
        raise SettingsError(
            f"NATLINK_SUBSCRIPTIONS has values that are not subscription GUIDs: {', '.join(bad)}"
        )
    return tuple(dict.fromkeys(item.lower() for item in items))


def _arm_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname:
        raise SettingsError(f"NATLINK_ARM_URL must be an https:// URL, not {raw!r}.")
    return raw.rstrip("/")


def _ca_bundle(raw: str | None) -> str | None:
    if raw is not None and not Path(raw).is_file():
        raise SettingsError(f"NATLINK_CA_BUNDLE must name an existing file; {raw!r} is not one.")
    return raw
