"""Azure Network Watcher for ``verify``: prove the double NAT instead of computing it.

Two proofs, as the walkthrough made them by hand. A connectivity check from the consumer VM to
the endpoint's address and port (``networkWatchers/connectivityCheck``) says whether traffic gets
through and, hop by hop, why not. A packet capture on the provider VM, filtered to the service
port, taken while a check sends traffic, holds the packets the backend received: their source is
the NAT IP, never the consumer (SNAT), and their destination the backend itself (DNAT).

Each precondition is checked before anything runs and fails alone with its fix: Network Watcher
in the region, natlink's rights, the agent extension on the VM (installed only when asked), the
storage account captures go to. A capture is always deleted afterwards, and its blob too, also
when something failed on the way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import BlobClient

from . import ids, pcap, permissions
from .clients import Clients
from .errors import CloudError
from .model import VmInfo
from .permissions import Need
from .steps import wait

log = logging.getLogger("natlink.cloud")
AGENT_PUBLISHER = "Microsoft.Azure.NetworkWatcher"
AGENT_TYPES = {"windows": "NetworkWatcherAgentWindows", "linux": "NetworkWatcherAgentLinux"}
AGENT_EXTENSION = "AzureNetworkWatcherExtension"  # the name the portal and az give the extension
AGENT_VERSION = "1.4"
REACHABLE = frozenset({"reachable", "connected"})  # the REST examples' word, and the SDK enum's
STATUS_POLL = 1.0
READ = "Microsoft.Network/networkWatchers/read"
CHECK = "Microsoft.Network/networkWatchers/connectivityCheck/action"
CAPTURE = (
    "Microsoft.Network/networkWatchers/packetCaptures/write",
    "Microsoft.Network/networkWatchers/packetCaptures/read",
    "Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action",
    "Microsoft.Network/networkWatchers/packetCaptures/stop/action",
    "Microsoft.Network/networkWatchers/packetCaptures/delete",
)
AGENT_READ = "Microsoft.Compute/virtualMachines/extensions/read"
AGENT_WRITE = "Microsoft.Compute/virtualMachines/extensions/write"
STORAGE = ("Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/storageAccounts/listKeys/action")


@dataclass(frozen=True)
class Watcher:
    """The Network Watcher of one subscription and region (Azure's ``NetworkWatcher_<region>``)."""

    id: str
    name: str
    subscription: str
    resource_group: str
    location: str


@dataclass(frozen=True)
class Issue:
    """A problem Azure found at a hop: ``type`` is Azure's (``NetworkSecurityRule``, ``GuestFirewall``…),
    ``context`` its details as ``key=value`` words (``RuleName=deny-rdp``)."""

    origin: str | None
    severity: str | None
    type: str
    context: tuple[str, ...]


@dataclass(frozen=True)
class Hop:
    type: str | None
    address: str | None
    resource_id: str | None
    issues: tuple[Issue, ...]


@dataclass(frozen=True)
class Reachability:
    """A connectivity check's answer: status, the hops, latency and probes."""

    status: str
    hops: tuple[Hop, ...]
    avg_latency_ms: int | None
    probes_sent: int | None
    probes_failed: int | None

    @property
    def reachable(self) -> bool:
        return self.status.lower() in REACHABLE

    @property
    def issues(self) -> tuple[Issue, ...]:
        return tuple(issue for hop in self.hops for issue in hop.issues)


@dataclass(frozen=True)
class CaptureStore:
    """The storage account captures are written to, with what reading its blobs needs."""

    id: str
    name: str
    blob_endpoint: str
    key: str


@dataclass(frozen=True)
class Captured:
    """What the provider VM received on the port during the capture."""

    vm: str
    port: int
    seconds: int
    syns: pcap.Syns


def watcher_for(clients: Clients, subscription: str, location: str) -> Watcher:
    """The region's Network Watcher, or ``NetworkWatcherNotEnabled`` saying how to enable it."""
    try:
        found = [
            w
            for w in clients.network(subscription).network_watchers.list_all()
            if _region(w.location) == _region(location)
        ]
    except AzureError as exc:
        raise CloudError.from_azure(exc, f"/subscriptions/{subscription}") from exc
    if not found:
        raise CloudError(
            # NetworkWatcherNotEnabled: natlink's own code
            "NetworkWatcherNotEnabled",
            f"Network Watcher is not enabled in {location} for subscription {subscription}.",
            f"/subscriptions/{subscription}",
            f"Enable it: `az network watcher configure --locations {_region(location)} --enabled true "
            f"--resource-group NetworkWatcherRG --subscription {subscription}` (Azure names it "
            f"NetworkWatcher_{_region(location)}).",
        )
    w = found[0]
    sub, group, name = ids.network_path(w.id)
    return Watcher(w.id, name, sub, group, w.location)


def require_rights(clients: Clients, what: str, needs: list[Need]) -> None:
    """``MissingPermissions`` naming each missing action before anything is started."""
    permissions.require(clients, what, needs)


def rights_needed(
    consumer: tuple[Watcher, VmInfo],
    provider: tuple[Watcher, VmInfo] | None,
    storage_id: str | None,
    install: bool,
) -> list[Need]:
    """The actions the check (and the capture, when ``provider`` is given) need, where they land."""
    agent = (AGENT_READ, AGENT_WRITE) if install else (AGENT_READ,)
    watcher, vm = consumer
    needs = [Need(permissions.group_of(watcher.id), (READ, CHECK)), Need(permissions.group_of(vm.id), agent)]
    if provider is not None:
        watcher, vm = provider
        needs += [
            Need(permissions.group_of(watcher.id), (READ, *CAPTURE)),
            Need(permissions.group_of(vm.id), agent),
        ]
    if provider is not None and storage_id:
        needs.append(Need(permissions.group_of(storage_id), STORAGE))
    return needs


def ensure_agent(clients: Clients, vm: VmInfo, install: bool) -> bool:
    """Whether the agent was installed now; ``NetworkWatcherAgentMissing`` when it is absent and
    ``install`` is False. Connectivity checks and captures run through it, on the VM itself."""
    compute = clients.compute(vm.subscription)
    try:
        extensions = compute.virtual_machine_extensions.list(vm.resource_group, vm.name).value or []
    except AzureError as exc:
        raise CloudError.from_azure(exc, vm.id) from exc
    if any(_is_agent(e) for e in extensions):
        return False
    os_type = _os_type(clients, vm)
    kind = AGENT_TYPES.get(os_type, AGENT_TYPES["windows"])
    if not install:
        raise CloudError(
            # NetworkWatcherAgentMissing: natlink's own code
            "NetworkWatcherAgentMissing",
            f"The Network Watcher agent is not installed on {vm.name}.",
            vm.id,
            f"Run the command again with `--install-agent`, or install it yourself: `az vm extension set "
            f"--resource-group {vm.resource_group} --vm-name {vm.name} --subscription {vm.subscription} "
            f"--publisher {AGENT_PUBLISHER} --name {kind} --version {AGENT_VERSION}`.",
        )
    body = {
        "location": vm.location,
        "properties": {
            "publisher": AGENT_PUBLISHER,
            "type": kind,
            "typeHandlerVersion": AGENT_VERSION,
            "autoUpgradeMinorVersion": True,
        },
    }
    try:
        wait(
            clients,
            lambda: compute.virtual_machine_extensions.begin_create_or_update(
                vm.resource_group, vm.name, AGENT_EXTENSION, body
            ),
            f"installing the Network Watcher agent on {vm.name}",
        )
    except AzureError as exc:
        raise CloudError.from_azure(exc, vm.id) from exc
    return True


def check(clients: Clients, watcher: Watcher, source: VmInfo, address: str, port: int) -> Reachability:
    """A TCP connectivity check from ``source`` to ``address:port``."""
    body = {
        "source": {"resourceId": source.id},
        "destination": {"address": address, "port": port},
        "protocol": "Tcp",
    }
    network = clients.network(watcher.subscription)
    try:
        found = wait(
            clients,
            lambda: network.network_watchers.begin_check_connectivity(
                watcher.resource_group, watcher.name, body
            ),
            f"the connectivity check from {source.name} to {address}:{port}",
        )
    except AzureError as exc:
        raise CloudError.from_azure(exc, watcher.id) from exc
    return Reachability(
        status=_text(found.connection_status) or "Unknown",
        hops=tuple(_hop(h) for h in found.hops or []),
        avg_latency_ms=found.avg_latency_in_ms,
        probes_sent=found.probes_sent,
        probes_failed=found.probes_failed,
    )


def capture_store(clients: Clients, storage_id: str | None) -> CaptureStore:
    """The capture account of ``NATLINK_CAPTURE_STORAGE``: set, readable, and its keys listable."""
    if not storage_id:
        raise CloudError(
            # CaptureStorageNotSet: natlink's own code
            "CaptureStorageNotSet",
            "NATLINK_CAPTURE_STORAGE is not set, so a packet capture has nowhere to go.",
            hint="Set NATLINK_CAPTURE_STORAGE to a storage account's resource ID (in the provider VM's region), "
            "or verify without --capture.",
        )
    try:
        sub, group, name = ids.network_path(storage_id)
    except ValueError:
        raise CloudError(
            # CaptureStorageNotSet: natlink's own code
            "CaptureStorageNotSet",
            f"NATLINK_CAPTURE_STORAGE is {storage_id!r}, not a storage account's resource ID.",
            hint="Give /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<name>.",
        ) from None
    accounts = clients.storage(sub).storage_accounts
    try:
        account = accounts.get_properties(group, name)
        keys = accounts.list_keys(group, name).keys_property or []
    except AzureError as exc:
        error = CloudError.from_azure(exc, storage_id)
        raise CloudError(
            error.code,
            f"natlink cannot use the capture storage account NATLINK_CAPTURE_STORAGE ({storage_id}): {error.message}",
            storage_id,
            error.hint or "Check the ID in NATLINK_CAPTURE_STORAGE and natlink's rights on the account.",
        ) from exc
    blob = account.primary_endpoints.blob if account.primary_endpoints else None
    if not blob or not keys:
        raise CloudError(
            # CaptureStorageUnusable: natlink's own code
            "CaptureStorageUnusable",
            f"The capture storage account {name} has no blob endpoint or no key natlink can read.",
            storage_id,
            "Use a general-purpose v2 account with shared key access enabled.",
        )
    return CaptureStore(account.id or storage_id, name, blob, keys[0].value)


def capture(
    clients: Clients,
    watcher: Watcher,
    vm: VmInfo,
    port: int,
    seconds: int,
    store: CaptureStore,
    traffic: Callable[[], object],
    name: str,
) -> Captured:
    """Capture TCP on ``port`` at ``vm`` for ``seconds`` while ``traffic()`` sends some, then read
    what the backend received. The capture and its blob are deleted whatever happens."""
    captures = clients.network(watcher.subscription).packet_captures
    group, nw = watcher.resource_group, watcher.name
    body = {
        "properties": {
            "target": vm.id,
            "targetType": "AzureVM",
            "timeLimitInSeconds": seconds,
            "storageLocation": {"storageId": store.id},
            "filters": [{"protocol": "TCP", "localPort": str(port)}],
        }
    }
    path: str | None = None
    try:
        with _azure(watcher.id):
            created = wait(
                clients,
                lambda: captures.begin_create(group, nw, name, body),
                f"starting a capture on {vm.name}",
            )
            path = _storage_path(created)
            started = time.monotonic()
            _until_running(clients, captures, group, nw, name)
            traffic()
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            wait(clients, lambda: captures.begin_stop(group, nw, name), f"stopping the capture on {vm.name}")
            path = _storage_path(captures.get(group, nw, name)) or path
        data = _read_blob(clients, store, path)
        try:
            found = pcap.syns(data)
        except pcap.CaptureUnreadable as error:
            # CaptureUnreadable: natlink's own code
            raise CloudError(
                "CaptureUnreadable", f"The capture file at {path} is unreadable: {error}."
            ) from error
        return Captured(vm.name, port, seconds, found)
    finally:
        _delete_capture(clients, captures, group, nw, name)
        _delete_blob(clients, store, path)


def _until_running(clients: Clients, captures: Any, group: str, nw: str, name: str) -> None:
    """Wait until the capture runs (Azure starts it through the agent), so the traffic is in it."""
    deadline = time.monotonic() + clients.lro_timeout
    while True:
        status = wait(
            clients, lambda: captures.begin_get_status(group, nw, name), "reading the capture's status"
        )
        state = _text(status.packet_capture_status).lower()
        if state == "running":
            return
        if state in ("error", "stopped") or time.monotonic() > deadline:
            errors = (
                ", ".join(map(_text, status.packet_capture_error or [])) or _text(status.stop_reason) or state
            )
            raise CloudError(
                # CaptureFailed: natlink's own code
                "CaptureFailed",
                f"The packet capture did not run: {errors}.",
                hint="Check the Network Watcher agent on the provider VM, then verify again.",
            )
        time.sleep(STATUS_POLL)


def _storage_path(result: Any) -> str | None:
    location = result.storage_location if result is not None else None
    return location.storage_path if location else None


def _blob(clients: Clients, store: CaptureStore, path: str) -> BlobClient:
    """The capture's blob, only at the capture account's own endpoint: its key goes nowhere else."""
    if not path.lower().startswith(store.blob_endpoint.lower().rstrip("/") + "/"):
        raise CloudError(
            # CaptureElsewhere: natlink's own code
            "CaptureElsewhere",
            f"The capture was written to {path}, outside the capture account's endpoint {store.blob_endpoint}.",
            store.id,
        )
    # The key alone: the client signs with the account the URL names (its host, or the first path
    # segment of a path-style URL such as an emulator's), which is the account the key belongs to.
    return BlobClient.from_blob_url(path, credential=store.key, connection_verify=clients.verify_tls)


def _read_blob(clients: Clients, store: CaptureStore, path: str | None) -> bytes:
    if not path:
        # CaptureNotWritten: natlink's own code
        raise CloudError("CaptureNotWritten", "Azure gave no storage path for the capture file.", store.id)
    try:
        return _blob(clients, store, path).download_blob().readall()
    except AzureError as exc:
        raise CloudError.from_azure(exc, path) from exc


def _delete_capture(clients: Clients, captures: Any, group: str, nw: str, name: str) -> None:
    try:
        wait(clients, lambda: captures.begin_delete(group, nw, name), f"deleting the capture {name}")
    except ResourceNotFoundError:
        return
    except (AzureError, CloudError) as error:
        log.warning("could not delete packet capture %s in %s/%s: %s", name, group, nw, error)


def _delete_blob(clients: Clients, store: CaptureStore, path: str | None) -> None:
    if not path:
        return
    try:
        _blob(clients, store, path).delete_blob()
    except ResourceNotFoundError:
        return
    except (AzureError, CloudError) as error:
        log.warning("could not delete the capture blob %s: %s", path, error)


@contextmanager
def _azure(resource: str) -> Iterator[None]:
    try:
        yield
    except AzureError as exc:
        raise CloudError.from_azure(exc, resource) from exc


def _is_agent(extension: Any) -> bool:
    props = extension.properties
    kind = props.type if props is not None else None
    return (extension.publisher or "").lower() == AGENT_PUBLISHER.lower() and (
        kind or ""
    ) in AGENT_TYPES.values()


def _os_type(clients: Clients, vm: VmInfo) -> str:
    try:
        found = clients.compute(vm.subscription).virtual_machines.get(vm.resource_group, vm.name)
    except AzureError as exc:
        raise CloudError.from_azure(exc, vm.id) from exc
    disk = found.storage_profile.os_disk if found.storage_profile else None
    return (_text(disk.os_type) or "windows").lower() if disk else "windows"


def _hop(hop: Any) -> Hop:
    return Hop(
        type=hop.type,
        address=hop.address,
        resource_id=hop.resource_id,
        issues=tuple(
            Issue(
                _text(i.origin) or None,
                _text(i.severity) or None,
                _text(i.type) or "Unknown",
                _context(i.context or []),
            )
            for i in hop.issues or []
        ),
    )


def _context(entries: list[dict[str, str]]) -> tuple[str, ...]:
    """Azure's context is a list of small maps, ``{"key": "RuleName", "value": "deny"}`` in its examples."""
    words = []
    for entry in entries:
        if "key" in entry and "value" in entry:
            words.append(f"{entry['key']}={entry['value']}")
        else:
            words += [f"{k}={v}" for k, v in entry.items()]
    return tuple(words)


def _text(value: object) -> str:
    """An SDK enum's wire value (``str()`` of one is ``IssueType.NETWORK_SECURITY_RULE``), or the string."""
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _region(location: str | None) -> str:
    return (location or "").replace(" ", "").lower()
