"""Network Watcher packet captures: their lifecycle, the probes they record, and their files.

Shapes from specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/
networkWatcher.json (PacketCaptures_Create/_Get/_Delete/_Stop/_GetStatus/_List; PacketCapture,
PacketCaptureResult, PacketCaptureFilter, PacketCaptureQueryStatusResult, PcStatus, PcError) and
examples/NetworkWatcherPacketCaptureCreate.json. A capture lives inside its watcher (``_captures``).

While a capture runs, every connectivity check whose probes arrive at its VM adds them (TCP SYNs
from the source the VM sees, the private link service's NAT IP when they came through one) if the
capture's filters let them through. On stop, or when its time limit has passed, the stand-in writes
the pcap file to the blob at ``storagePath`` in Azurite, as the agent uploads it.
"""

from __future__ import annotations

import ipaddress
import random
import time
from datetime import UTC, datetime

from . import ids, pcap, storage
from .common import ref_id, rendered, require_name
from .errors import ArmError, bad_request, not_found
from .watcher import require_agent, same_place
from .world import Json, World, etag

# PacketCapture's defaults and limits (networkWatcher.json): bytesToCapturePerPacket 0 (whole
# packets), totalBytesPerSession 1073741824, timeLimitInSeconds 18000 (0 to 18000).
DEFAULTS = {"bytesToCapturePerPacket": 0, "totalBytesPerSession": 1073741824, "timeLimitInSeconds": 18000}
MAX_SECONDS = 18000
PROTOCOLS = {"TCP", "UDP", "Any"}  # PcProtocol
# The container Network Watcher writes captures to when the request names no storagePath, and the
# blob's name under it (azure-docs network-watcher/packet-capture-manage-portal.md, "network-watcher-logs").
DEFAULT_CONTAINER = "network-watcher-logs"


def _captures(watcher: Json) -> list[Json]:
    return watcher.get("_captures", [])


def find(watcher: Json, name: str) -> Json | None:
    return next((c for c in _captures(watcher) if c["name"].lower() == name.lower()), None)


def require(world: World, watcher: Json, name: str) -> Json:
    refresh(world, watcher["id"])
    found = find(world.require(watcher["id"]), name)
    if found is None:
        raise not_found(f"{watcher['id']}/packetCaptures/{name}", "packet capture")
    return found


def create(world: World, watcher: Json, name: str, body: Json) -> Json:
    """PacketCaptures_Create: validate, start capturing now; answered with ``Updating`` (as the
    example's 201 is) while the stored capture is ``Succeeded``."""
    rid = f"{watcher['id']}/packetCaptures/{name}"
    require_name(name, rid)
    if find(watcher, name) is not None:
        raise ArmError(
            409,
            # PacketCaptureAlreadyExists: the stand-in's own (the spec allows only 201 for a create)
            "PacketCaptureAlreadyExists",
            f"Packet capture {rid} exists; delete it before creating another with that name.",
            target=rid,
        )
    props = body.get("properties") if isinstance(body.get("properties"), dict) else {}
    target = ref_id({"id": props.get("target")}, "target", rid)
    vm = world.get(target)
    if vm is None or "_power" not in vm:
        raise not_found(target, "virtual machine")
    same_place(watcher, vm, "capture on")
    require_agent(vm, "packet capture")
    limits = {k: _limit(props, k, default, rid) for k, default in DEFAULTS.items()}
    location = _storage_location(world, props.get("storageLocation"), vm, rid)
    capture: Json = {
        "name": name,
        "id": rid,
        "etag": etag(),
        "properties": {
            "provisioningState": "Succeeded",
            "target": vm["id"],
            "targetType": "AzureVM",
            **limits,
            "storageLocation": location,
            "filters": [_filter(f, rid) for f in props.get("filters") or []],
        },
        "_status": "Running" if vm["_power"] == "running" else "Error",
        "_errors": [] if vm["_power"] == "running" else ["AgentStopped"],
        "_started": time.time(),
        "_syns": [],
    }
    stored = world.editable(watcher["id"])
    assert stored is not None
    stored["_captures"] = [*_captures(stored), capture]
    world.put(stored)
    answer = rendered(capture)
    answer["properties"]["provisioningState"] = "Updating"
    return answer


def fail(world: World, rid: str, error: str) -> None:
    """An armed LRO failure: the capture ends ``Failed``, status ``Error`` (control API ``lro-failures``)."""

    def failed(capture: Json) -> None:
        capture["properties"]["provisioningState"] = "Failed"
        capture.update(_status="Error", _errors=[error])

    _update(world, rid, failed)


def _limit(props: Json, key: str, default: int, rid: str) -> int:
    value = props.get(key, default)
    high = MAX_SECONDS if key == "timeLimitInSeconds" else 4294967295
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("InvalidRequestFormat", f"'{key}' must be an integer from 0 to {high}.", rid)
    return value


def _storage_location(world: World, value: object, vm: Json, rid: str) -> Json:
    """``storageId`` (an account of the world) and ``storagePath`` (a blob URL in it; Network
    Watcher's own name under ``network-watcher-logs`` when not given), or a ``filePath`` on the VM."""
    location = value if isinstance(value, dict) else {}
    storage_id, path, file_path = (
        location.get("storageId"),
        location.get("storagePath"),
        location.get("filePath"),
    )
    if not storage_id and not file_path:
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            "storageLocation needs a storageId (a storage account) or a filePath on the VM.",
            rid,
        )
    out: Json = {
        k: v for k, v in location.items() if k in ("storageId", "storagePath", "filePath", "localPath")
    }
    if storage_id:
        world.require(str(storage_id), "storage account")
        if path and not storage.in_account(world, str(path)):
            raise bad_request(
                # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
                "InvalidRequestFormat",
                f"storagePath {path} is not a blob of {storage_id} ({storage.require_emulator(world)}).",
                rid,
            )
        out["storagePath"] = path or storage.blob_url(world, str(storage_id), _default_blob(vm))
    return out


def _default_blob(vm: Json) -> str:
    parsed = ids.parse(vm["id"])
    assert parsed is not None
    now = datetime.now(UTC)
    return (
        f"{DEFAULT_CONTAINER}/subscriptions/{parsed.subscription}/resourcegroups/{parsed.group}/providers/"
        f"microsoft.compute/virtualmachines/{parsed.name}/{now:%Y/%m/%d}/"
        f"packetcapture_{now:%H_%M_%S}_{now.microsecond // 1000:03d}.cap"
    ).lower()


def _filter(value: object, rid: str) -> Json:
    """A PacketCaptureFilter: ``protocol`` (default Any) and addresses and ports as one value,
    a range ``a-b`` or a list ``a;b``."""
    item = value if isinstance(value, dict) else {}
    protocol = item.get("protocol", "Any")
    if protocol not in PROTOCOLS:
        # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("InvalidRequestFormat", f"Filter protocol must be one of {sorted(PROTOCOLS)}.", rid)
    keys = ("localIPAddress", "remoteIPAddress", "localPort", "remotePort")
    return {"protocol": protocol} | {k: str(item[k]) for k in keys if item.get(k) not in (None, "")}


def _matches(spec: str | None, value: str, convert) -> bool:  # type: ignore[no-untyped-def]
    if spec is None:
        return True
    for part in spec.split(";"):
        low, _, high = part.strip().partition("-")
        if convert(low) <= convert(value) <= convert(high or low):
            return True
    return False


def _passes(filters: list[Json], syn: pcap.Syn) -> bool:
    """No filter takes everything; otherwise any one filter that matches (local = the VM's side)."""
    if not filters:
        return True
    ip = ipaddress.IPv4Address
    return any(
        f["protocol"] in ("TCP", "Any")
        and _matches(f.get("localIPAddress"), syn.destination, ip)
        and _matches(f.get("remoteIPAddress"), syn.source, ip)
        and _matches(f.get("localPort"), str(syn.destination_port), int)
        and _matches(f.get("remotePort"), str(syn.source_port), int)
        for f in filters
    )


def record(world: World, vm_id: str, address: str, port: int, source: str, probes: int) -> None:
    """A connectivity check's ``probes`` TCP SYNs arrived at ``vm_id`` (``address``:``port``) from ``source``."""
    parsed = ids.parse(vm_id)
    assert parsed is not None
    start = time.time()
    syns = [
        pcap.Syn(
            start + i * 0.01,
            source,
            49152 + random.randrange(16000),
            address,
            port,
            random.getrandbits(32),
            random.getrandbits(16),
        )
        for i in range(probes)
    ]
    for watcher in world.list_type(parsed.subscription, "Microsoft.Network", "networkWatchers"):
        refresh(world, watcher["id"])
        for capture in _captures(world.require(watcher["id"])):
            if capture["_status"] != "Running" or ids.key(capture["properties"]["target"]) != ids.key(vm_id):
                continue
            kept = [vars(s) for s in syns if _passes(capture["properties"]["filters"], s)]
            if kept:
                _update(world, capture["id"], lambda c, kept=kept: c["_syns"].extend(kept))


def refresh(world: World, watcher_id: str) -> None:
    """Stop the watcher's captures whose time limit has passed (``TimeExceeded``)."""
    watcher = world.get(watcher_id)
    now = time.time()
    for capture in _captures(watcher or {}):
        limit = capture["properties"]["timeLimitInSeconds"] or MAX_SECONDS
        if capture["_status"] == "Running" and now >= capture["_started"] + limit:
            stop(world, capture["id"], "TimeExceeded")


def stop(world: World, rid: str, reason: str) -> None:
    """End a running capture and upload its file; a failed upload is the capture's ``StorageFailed``.
    Stop reasons: ``TimeExceeded`` as Get-AzNetworkWatcherPacketCapture shows it (azure-docs
    network-watcher-packet-capture-manage-powershell.md); ``ManualStop`` the stand-in's own wording."""
    capture = _capture(world, rid)
    if capture is None or capture["_status"] != "Running":
        return
    status, errors = "Stopped", []
    path = capture["properties"]["storageLocation"].get("storagePath")
    if path:
        nic = _primary_nic(world, capture["properties"]["target"])
        syns = [pcap.Syn(**s) for s in capture["_syns"]]
        data = pcap.write(
            syns, pcap.mac_bytes(nic.get("macAddress", "")), capture["properties"]["bytesToCapturePerPacket"]
        )
        try:
            storage.write_blob(world, path, data)
        except ArmError:
            status, errors = "Error", ["StorageFailed"]
    _update(world, rid, lambda c: c.update(_status=status, _errors=errors, _stopReason=reason))


def _primary_nic(world: World, vm_id: str) -> Json:
    vm = world.get(vm_id)
    nic = world.get(vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"]) if vm else None
    return (nic or {}).get("properties", {})


def status(world: World, watcher: Json, name: str) -> Json:
    """PacketCaptureQueryStatusResult."""
    capture = require(world, watcher, name)
    started = datetime.fromtimestamp(capture["_started"], UTC).isoformat().replace("+00:00", "Z")
    body: Json = {
        "name": capture["name"],
        "id": capture["id"],
        "captureStartTime": started,
        "packetCaptureStatus": capture["_status"],
        "packetCaptureError": capture["_errors"],
    }
    if capture.get("_stopReason"):
        body["stopReason"] = capture["_stopReason"]
    return body


def listing(world: World, watcher: Json) -> list[Json]:
    refresh(world, watcher["id"])
    return [rendered(c) for c in _captures(world.require(watcher["id"]))]


def _capture(world: World, rid: str) -> Json | None:
    parsed = ids.parse(rid)
    watcher = world.get(parsed.parent) if parsed else None
    return find(watcher, parsed.name) if watcher and parsed else None


def _update(world: World, rid: str, change) -> None:  # type: ignore[no-untyped-def]
    """Apply ``change`` to a copy of the capture and store its watcher."""
    parsed = ids.parse(rid)
    assert parsed is not None
    watcher = world.editable(parsed.parent)
    capture = find(watcher, parsed.name) if watcher else None
    if watcher is None or capture is None:
        return
    change(capture)
    world.put(watcher)
