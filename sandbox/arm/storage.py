"""Storage accounts (Microsoft.Storage) whose blob endpoint is the sandbox's Azurite.

ARM serves the account (StorageAccounts_GetProperties, StorageAccounts_ListKeys, from
specification/storage/resource-manager/Microsoft.Storage/stable/*/storage.json); its
``primaryEndpoints.blob`` is Azurite's path-style URL for its one account ``devstoreaccount1``, and
``listKeys`` answers Azurite's well-known key. The stand-in writes blobs there over HTTP on
127.0.0.1 (packet capture files), as Network Watcher's agent writes them into the real account.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient

from sandbox import azurite

from . import ids
from .common import draft, rendered
from .errors import ArmError, bad_request
from .world import Claim, Json, Ref, World, now_iso

STORAGE = "Microsoft.Storage"
ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
# Storage account names: 3-24 lowercase letters and digits (azure-docs resource-name-rules.md,
# Microsoft.Storage/storageAccounts).
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")


class StorageAccounts:
    namespace = STORAGE
    type = "storageAccounts"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        if not ACCOUNT_NAME.match(parsed.name):
            raise bad_request(
                # AccountNameInvalid: the storage provider's code (azure-docs resource-name-rules.md)
                "AccountNameInvalid",
                f"{parsed.name} is not a valid storage account name. Storage account name must be between 3 "
                "and 24 characters in length and use numbers and lower-case letters only.",
                rid,
            )
        existing, location, props, stored = draft(world, rid, parsed, ACCOUNT_TYPE, body)
        sku = body.get("sku") if isinstance(body.get("sku"), dict) else {}
        stored["sku"] = {"name": sku.get("name", "Standard_LRS"), "tier": "Standard"}
        stored["kind"] = body.get("kind") or "StorageV2"
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "creationTime": (existing or {}).get("properties", {}).get("creationTime") or now_iso(),
            "primaryLocation": location,
            "statusOfPrimary": "available",
            "accessTier": props.get("accessTier", "Hot"),
            "supportsHttpsTrafficOnly": True,
            "allowBlobPublicAccess": False,
            "minimumTlsVersion": "TLS1_2",
        }
        return stored

    def render(self, world: World, stored: Json) -> Json:
        """The account with ``primaryEndpoints`` (only ``blob``: Azurite runs its blob service only),
        or without any while no Azurite runs."""
        body = rendered(stored)
        if world.blob_endpoint:
            body["properties"]["primaryEndpoints"] = {"blob": world.blob_endpoint}
        return body

    def check_delete(self, world: World, rid: str) -> None:
        world.require(rid, "storage account")

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []

    def refs(self, stored: Json) -> list[Ref]:
        return []


def require_emulator(world: World) -> str:
    """Azurite's blob endpoint, or the error that says how to get it."""
    if not world.blob_endpoint:
        raise ArmError(
            503,
            # StorageEmulatorNotRunning: the stand-in's own
            "StorageEmulatorNotRunning",
            f"The sandbox has no blob storage: Azurite is not running. Install it with `{azurite.INSTALL}` "
            "and start the sandbox again.",
        )
    return world.blob_endpoint


def list_keys(world: World, rid: str) -> Json:
    """StorageAccounts_ListKeys (storage.json, StorageAccountListKeysResult). Azurite's account has
    one key; both are it, so whichever a client takes works."""
    world.require(rid, "storage account")
    require_emulator(world)
    return {
        "keys": [
            {"keyName": name, "value": azurite.KEY, "permissions": "FULL", "creationTime": now_iso()}
            for name in ("key1", "key2")
        ]
    }


def blob_url(world: World, account_id: str, path: str) -> str:
    """The URL of ``path`` (``container/blob``) in the account."""
    return f"{require_emulator(world)}{path.lstrip('/')}"


def in_account(world: World, url: str) -> bool:
    """Whether ``url`` is a blob of the sandbox's account (a capture's ``storagePath`` must be)."""
    endpoint = require_emulator(world)
    return url.startswith(endpoint) and len(urlsplit(url).path.strip("/").split("/")) >= 3


def write_blob(world: World, url: str, data: bytes) -> None:
    """Write ``data`` at ``url`` in Azurite, creating its container, as the agent uploads a file."""
    endpoint = require_emulator(world)
    container, _, name = url.removeprefix(endpoint).partition("/")
    service = BlobServiceClient(
        endpoint, credential={"account_name": azurite.ACCOUNT, "account_key": azurite.KEY}
    )
    try:
        client = service.get_container_client(container)
        if not client.exists():
            client.create_container()
        client.upload_blob(name, data, overwrite=True)
    except AzureError as exc:
        raise ArmError(
            500,
            # StorageFailed: PcError's value for a capture the agent could not upload (networkWatcher.json)
            "StorageFailed",
            f"Could not write {url} to Azurite: {exc}",
        ) from None
