"""The capture storage account through azure-mgmt-storage, and its blobs in Azurite through
azure-storage-blob: the account's endpoint and key are all a client needs."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from sandbox import azurite


def test_the_seed_account_points_at_azurite_and_its_key_opens_it(sandbox, storage_b) -> None:
    account = storage_b.storage_accounts.get_properties("rg-team-b", "natlinkcaptures")
    assert account.id == sandbox.capture_storage
    assert (account.kind, account.sku.name, account.provisioning_state) == (
        "StorageV2",
        "Standard_LRS",
        "Succeeded",
    )
    assert account.primary_endpoints.blob == f"{sandbox.storage.url}/devstoreaccount1/"
    assert account.primary_endpoints.blob.startswith("http://127.0.0.1:")
    key = storage_b.storage_accounts.list_keys("rg-team-b", "natlinkcaptures").keys_property[0].value
    blobs = BlobServiceClient(account.primary_endpoints.blob, credential=key)
    blobs.create_container("probe")
    blobs.get_blob_client("probe", "a/b.txt").upload_blob(b"hello")
    assert blobs.get_blob_client("probe", "a/b.txt").download_blob().readall() == b"hello"
    blobs.delete_container("probe")


def test_without_azurite_storage_calls_say_how_to_install_it(sandbox, storage_b) -> None:
    sandbox.control("PUT", "storage", {"blob_endpoint": None})
    try:
        assert (
            storage_b.storage_accounts.get_properties("rg-team-b", "natlinkcaptures").primary_endpoints
            is None
        )
        with pytest.raises(HttpResponseError) as refused:
            storage_b.storage_accounts.list_keys("rg-team-b", "natlinkcaptures")
        assert refused.value.status_code == 503 and refused.value.error.code == "StorageEmulatorNotRunning"
        assert azurite.INSTALL in refused.value.error.message
    finally:
        sandbox.control("PUT", "storage", {"blob_endpoint": sandbox.storage.blob_endpoint})


def test_account_names_follow_azures_rule(storage_b) -> None:
    with pytest.raises(HttpResponseError) as refused:
        storage_b.storage_accounts.begin_create(
            "rg-team-b",
            "Not_Valid",
            {"location": "japaneast", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"},
        ).result()
    assert refused.value.error.code == "AccountNameInvalid"
