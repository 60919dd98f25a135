"""Where natlink finds Azure: read once from the environment and validated up front.

A bad value fails at start-up with the variable's name, not later as an obscure TLS or HTTP
error. ``NATLINK_CLOUD`` names the Azure cloud (AzureCloud, AzureUSGovernment, AzureChinaCloud),
which sets three things that only work together: the ARM URL, the Entra ID authority and the
token scope (ARM's audience). ``NATLINK_ARM_URL`` and ``AZURE_AUTHORITY_HOST`` override the first
two, as the sandbox does; the scope always follows the cloud.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from azure.identity import AzureAuthorityHosts


@dataclass(frozen=True)
class AzureCloud:
    """One Azure cloud's ARM endpoint, Entra ID authority and ARM token audience (the values of
    azure-cli's KNOWN_CLOUDS and of each cloud's own ``/metadata/endpoints``)."""

    name: str
    arm_url: str
    authority_host: str
    audience: str
    portal: str = "https://portal.azure.com"  # where people open a resource (its portal link)

    @property
    def scope(self) -> str:
        """What natlink asks Entra ID for: a token ARM in this cloud accepts."""
        return f"{self.audience}/.default"


CLOUDS = {
    cloud.name.lower(): cloud
    for cloud in (
        AzureCloud(
            "AzureCloud",
            "https://management.azure.com",
            f"https://{AzureAuthorityHosts.AZURE_PUBLIC_CLOUD}",
            "https://management.azure.com",
        ),
        AzureCloud(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            f"https://{AzureAuthorityHosts.AZURE_GOVERNMENT}",
            "https://management.usgovcloudapi.net",
            "https://portal.azure.us",
        ),
        AzureCloud(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            f"https://{AzureAuthorityHosts.AZURE_CHINA}",
            "https://management.chinacloudapi.cn",
            "https://portal.azure.cn",
        ),
    )
}
PUBLIC_CLOUD = CLOUDS["azurecloud"]
PUBLIC_ARM_URL = PUBLIC_CLOUD.arm_url
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class SettingsError(ValueError):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True)
class CloudSettings:
    subscriptions: tuple[str, ...]
    arm_url: str = PUBLIC_ARM_URL
    ca_bundle: str | None = None
    cloud: AzureCloud = PUBLIC_CLOUD
    # AZURE_AUTHORITY_HOST when set; otherwise azure-identity's own reading of it, then the cloud's.
    authority_host: str | None = None
    # `verify --capture` writes packet captures to this storage account (NATLINK_CAPTURE_STORAGE, a
    # resource ID); unset, verify says so and proves reachability alone.
    capture_storage: str | None = None
    # NATLINK_VERIFY_AFTER_APPROVAL: queue a `verify` of each connection as soon as it is approved.
    verify_after_approval: bool = False
    # AZURE_TENANT_ID (azure-identity's own variable): the directory portal links open in.
    tenant: str | None = None

    @property
    def portal_home(self) -> str:
        """The start of every portal link: ``https://portal.azure.com/#@<tenant>`` (a link without
        the tenant opens in the person's default directory, which may not hold the resource)."""
        return f"{self.cloud.portal}/#@{self.tenant}" if self.tenant else f"{self.cloud.portal}/#"

    @property
    def is_public_cloud(self) -> bool:
        """Whether natlink talks to its cloud's own ARM (not a stand-in at another URL)."""
        return self.arm_url.rstrip("/").lower() == self.cloud.arm_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CloudSettings:
        cloud = _cloud(environ.get("NATLINK_CLOUD") or PUBLIC_CLOUD.name)
        return cls(
            subscriptions=_subscriptions(environ.get("NATLINK_SUBSCRIPTIONS", "")),
            arm_url=_https_url("NATLINK_ARM_URL", environ.get("NATLINK_ARM_URL") or cloud.arm_url),
            ca_bundle=_ca_bundle(environ.get("NATLINK_CA_BUNDLE") or None),
            cloud=cloud,
            authority_host=_authority(environ.get("AZURE_AUTHORITY_HOST") or None),
            capture_storage=environ.get("NATLINK_CAPTURE_STORAGE", "").strip() or None,
            verify_after_approval=_flag(
                "NATLINK_VERIFY_AFTER_APPROVAL", environ.get("NATLINK_VERIFY_AFTER_APPROVAL")
            ),
            tenant=environ.get("AZURE_TENANT_ID", "").strip() or None,
        )


def _flag(name: str, raw: str | None) -> bool:
    """The words bot/settings.py takes for its switches; anything else is refused with the variable's name."""
    text = (raw or "").strip().lower()
    if text not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
        raise SettingsError(f"{name} must be true or false, not {raw!r}.")
    return text in ("1", "true", "yes", "on")


def _authority(raw: str | None) -> str | None:
    """AZURE_AUTHORITY_HOST as azure-identity reads it: a bare host (AzureAuthorityHosts' form) means https."""
    if raw is None:
        return None
    return _https_url("AZURE_AUTHORITY_HOST", raw if "://" in raw else f"https://{raw}")


def _cloud(raw: str) -> AzureCloud:
    found = CLOUDS.get(raw.strip().lower())
    if found is None:
        names = ", ".join(c.name for c in CLOUDS.values())
        raise SettingsError(f"NATLINK_CLOUD must be one of {names}, not {raw!r}.")
    return found


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


def _https_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname:
        raise SettingsError(f"{name} must be an https:// URL, not {raw!r}.")
    return raw.rstrip("/")


def _ca_bundle(raw: str | None) -> str | None:
    if raw is not None and not Path(raw).is_file():
        raise SettingsError(f"NATLINK_CA_BUNDLE must name an existing file; {raw!r} is not one.")
    return raw
