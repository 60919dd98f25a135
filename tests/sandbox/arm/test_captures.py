"""Packet captures in the stand-in, through the real SDKs: their lifecycle, the probes a
connectivity check sends into them, and the pcap file they leave in Azurite."""

from __future__ import annotations

import io
import time

import dpkt
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobClient

from tests.arm_story import B_RG
from tests.conftest import TEAM_B
from tests.sandbox.arm.test_watcher import NW, NW_RG, VM_B, check, connect

EXAMPLE_KEYS = {"provisioningState", "target", "bytesToCapturePerPacket", "totalBytesPerSession",
                "timeLimitInSeconds", "storageLocation", "filters"}  # fmt: skip


def start(net_b: NetworkManagementClient, sandbox, name: str = "pc1", **extra):
    props = {
        "target": VM_B,
        "storageLocation": {"storageId": sandbox.capture_storage},
        "filters": [{"protocol": "TCP", "localPort": "3389"}],
        "timeLimitInSeconds": 60,
    } | extra
    return net_b.packet_captures.begin_create(NW_RG, NW, name, {"properties": props}).result()


def status(net_b: NetworkManagementClient, name: str = "pc1"):
    return net_b.packet_captures.begin_get_status(NW_RG, NW, name).result()


def packets(storage_b: StorageManagementClient, url: str) -> list[tuple[int, int, bytes]]:
    """(captured length, original length, frame) of each record of the blob at ``url``."""
    key = storage_b.storage_accounts.list_keys("rg-team-b", "natlinkcaptures").keys_property[0].value
    data = BlobClient.from_blob_url(url, credential=key).download_blob().readall()
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    assert reader.datalink() == dpkt.pcap.DLT_EN10MB
    return [(len(frame), len(frame), frame) for _, frame in reader]


def test_a_capture_sees_the_checks_syns_from_the_nat_ip_only(net_a, net_b, sandbox, storage_b) -> None:
    connect(net_a, net_b)
    capture = start(net_b, sandbox)
    assert capture.properties.provisioning_state == "Succeeded" and capture.properties.target == VM_B
    path = capture.properties.storage_location.storage_path
    assert path.startswith(f"{sandbox.storage.blob_endpoint}network-watcher-logs/subscriptions/{TEAM_B}/")
    assert path.endswith(".cap")
    running = status(net_b)
    assert (running.packet_capture_status, running.packet_capture_error) == ("Running", [])
    assert running.capture_start_time is not None
    result = check(net_a)
    assert check(net_a, port=80).connection_status == "Unreachable"  # arrives nowhere, so in no capture
    net_b.packet_captures.begin_stop(NW_RG, NW, "pc1").result()
    stopped = status(net_b)
    assert (stopped.packet_capture_status, stopped.stop_reason) == ("Stopped", "ManualStop")
    seen = packets(storage_b, path)
    assert len(seen) == result.probes_sent
    for _, _, frame in seen:
        ip = dpkt.ethernet.Ethernet(frame).data
        tcp = ip.data
        assert (dpkt.utils.inet_to_str(ip.src), dpkt.utils.inet_to_str(ip.dst), tcp.dport) == (
            "10.2.0.6",
            "10.2.0.5",
            3389,
        )
        assert tcp.flags == dpkt.tcp.TH_SYN
    net_b.packet_captures.begin_delete(NW_RG, NW, "pc1").result()
    assert list(net_b.packet_captures.list(NW_RG, NW)) == []
    with pytest.raises(ResourceNotFoundError):
        net_b.packet_captures.get(NW_RG, NW, "pc1")
    assert packets(storage_b, path)  # the blob is the client's to delete, as in Azure


def test_the_create_answer_has_the_example_fields(net_b, sandbox) -> None:
    poller = net_b.packet_captures.begin_create(
        NW_RG,
        NW,
        "pc1",
        {"properties": {"target": VM_B, "storageLocation": {"storageId": sandbox.capture_storage}}},
        polling=False,
    )
    body = poller.result()
    assert set(body.properties.as_dict()) | {"provisioningState", "storageLocation"} >= EXAMPLE_KEYS
    assert body.properties.provisioning_state == "Updating"
    capture = net_b.packet_captures.get(NW_RG, NW, "pc1")
    assert (capture.properties.bytes_to_capture_per_packet, capture.properties.time_limit_in_seconds) == (
        0,
        18000,
    )
    assert capture.properties.total_bytes_per_session == 1073741824


def test_filters_and_truncation_are_applied(net_a, net_b, sandbox, storage_b) -> None:
    connect(net_a, net_b)
    wrong_port = start(net_b, sandbox, "pc-80", filters=[{"protocol": "TCP", "localPort": "80"}])
    short = start(net_b, sandbox, "pc-short", filters=[], bytesToCapturePerPacket=54)
    check(net_a)
    for name in ("pc-80", "pc-short"):
        net_b.packet_captures.begin_stop(NW_RG, NW, name).result()
    assert packets(storage_b, wrong_port.properties.storage_location.storage_path) == []
    key = storage_b.storage_accounts.list_keys("rg-team-b", "natlinkcaptures").keys_property[0].value
    data = BlobClient.from_blob_url(
        short.properties.storage_location.storage_path, credential=key
    ).download_blob()
    reader = dpkt.pcap.Reader(io.BytesIO(data.readall()))
    assert reader.snaplen == 54 and all(len(frame) == 54 for _, frame in reader)


def test_a_capture_stops_at_its_time_limit(net_b, sandbox, storage_b) -> None:
    capture = start(net_b, sandbox, timeLimitInSeconds=1)
    time.sleep(1.1)
    stopped = status(net_b)
    assert (stopped.packet_capture_status, stopped.stop_reason) == ("Stopped", "TimeExceeded")
    assert packets(storage_b, capture.properties.storage_location.storage_path) == []


def test_a_vm_without_the_agent_is_refused(net_b, sandbox, compute_b) -> None:
    compute_b.virtual_machine_extensions.begin_delete(
        B_RG, "VM-Win2019-2", "AzureNetworkWatcherExtension"
    ).result()
    with pytest.raises(HttpResponseError) as refused:
        start(net_b, sandbox)
    assert refused.value.error.code == "AgentStopped"
    assert list(net_b.packet_captures.list(NW_RG, NW)) == []


def test_an_armed_failure_fails_the_create(net_b, sandbox) -> None:
    sandbox.control("POST", "lro-failures", {"type": "packetCaptures", "code": "InternalServerError"})
    with pytest.raises(HttpResponseError):
        start(net_b, sandbox)
    capture = net_b.packet_captures.get(NW_RG, NW, "pc1")
    assert capture.properties.provisioning_state == "Failed"
    assert (status(net_b).packet_capture_status, status(net_b).packet_capture_error) == (
        "Error",
        ["CaptureFailed"],
    )


def test_a_storage_path_outside_the_account_is_refused(net_b, sandbox) -> None:
    with pytest.raises(HttpResponseError) as refused:
        start(
            net_b,
            sandbox,
            storageLocation={
                "storageId": sandbox.capture_storage,
                "storagePath": "https://elsewhere.example/c/x.cap",
            },
        )
    assert refused.value.error.code == "InvalidRequestFormat"
