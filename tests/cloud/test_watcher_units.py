"""verify's pure parts: reading a capture file, and naming the first cause of an unreachable link.

The pcap is built here with dpkt, as Network Watcher writes one (Ethernet frames, classic pcap),
so the parser is tested against bytes, not against itself.
"""

from __future__ import annotations

import io
import socket

import dpkt
import pytest

from cloud import causes, pcap, roles, watcher
from cloud.causes import Situation
from cloud.watcher import Hop, Issue, Reachability

NAT_IP, BACKEND, CONSUMER = "10.2.0.6", "10.2.0.5", "10.0.0.4"


def _frame(src: str, dst: str, dport: int, flags: int) -> bytes:
    tcp = dpkt.tcp.TCP(sport=50000, dport=dport, flags=flags, seq=1)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp)
    ip.len = len(ip)
    return bytes(
        dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x01" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    )


def _pcap(frames: list[bytes], link: int = dpkt.pcap.DLT_EN10MB) -> bytes:
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, linktype=link)
    for n, frame in enumerate(frames):
        writer.writepkt(frame, ts=1_700_000_000 + n)
    return out.getvalue()


def test_syns_count_connection_attempts_by_source_and_destination() -> None:
    frames = [_frame(NAT_IP, BACKEND, 3389, dpkt.tcp.TH_SYN) for _ in range(6)]
    frames += [
        _frame(BACKEND, NAT_IP, 50000, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)
    ]  # the answer: not an attempt
    frames += [_frame(NAT_IP, BACKEND, 3389, dpkt.tcp.TH_ACK)]  # data of the flow
    frames += [_frame(CONSUMER, BACKEND, 445, dpkt.tcp.TH_SYN)]  # another port
    found = pcap.syns(_pcap(frames))
    assert found.packets == 9
    assert found.to_port(3389) == {NAT_IP: 6}
    assert found.destinations(3389) == (BACKEND,)
    assert found.to_port(445) == {CONSUMER: 1}


def test_raw_ip_captures_are_read_too() -> None:
    ip_only = [bytes(dpkt.ethernet.Ethernet(_frame(NAT_IP, BACKEND, 3389, dpkt.tcp.TH_SYN)).data)]
    assert pcap.syns(_pcap(ip_only, link=101)).to_port(3389) == {NAT_IP: 1}


@pytest.mark.parametrize("data", [b"", b"not a capture at all", b"\xd4\xc3\xb2\xa1" + b"\x00" * 3])
def test_a_file_that_is_no_pcap_is_refused_with_why(data: bytes) -> None:
    with pytest.raises(pcap.CaptureUnreadable):
        pcap.syns(data)


def _reach(*issues: Issue, status: str = "Unreachable") -> Reachability:
    hops = (Hop("Source", CONSUMER, None, issues), Hop("PrivateEndpoint", "10.0.0.5", None, ()))
    return Reachability(status, hops, None, 30, 30)


GOOD = Situation("Approved", 3389, True, "VM-Win2019-2", "running", 100.0, "r-7k2m9x")
NSG_ISSUE = Issue("Outbound", "Error", "NetworkSecurityRule", ("RuleName=deny-rdp",))


@pytest.mark.parametrize(
    ("situation", "issues", "kind", "words"),
    [
        (
            Situation("Pending", 3389, True, "VM-Win2019-2", "running", 100.0, "r-7k2m9x"),
            (),
            "connection",
            "*Pending*: an owner must approve it (`/natlink approve r-7k2m9x`)",
        ),
        (
            Situation("Rejected", 3389, True, "VM-Win2019-2", "running", 100.0, "r-7k2m9x"),
            (),
            "connection",
            "*Rejected*",
        ),
        (
            Situation("Approved", 3389, False, None, None, None, "r-7k2m9x"),
            (),
            "port",
            "port 3389 is not exposed",
        ),
        (
            Situation("Approved", 3389, True, "VM-Win2019-2", "deallocated", 100.0, "r-7k2m9x"),
            (),
            "backend",
            "VM-Win2019-2 is deallocated",
        ),
        (
            Situation("Approved", 3389, True, "VM-Win2019-2", "running", 0.0, "r-7k2m9x"),
            (),
            "probe",
            "health probe of VM-Win2019-2 fails (0%",
        ),
        (
            GOOD,
            (NSG_ISSUE,),
            "nsg",
            "network security group rule drops the traffic (outbound, RuleName=deny-rdp)",
        ),
        (GOOD, (Issue("Inbound", "Error", "GuestFirewall", ()),), "issue", "*GuestFirewall* (inbound)"),
        (GOOD, (), "unnamed", "hops: 10.0.0.4 → 10.0.0.5"),
    ],
    ids=["pending", "rejected", "port", "stopped", "probe", "nsg", "firewall", "unnamed"],
)
def test_each_cause_is_named_alone(
    situation: Situation, issues: tuple[Issue, ...], kind: str, words: str
) -> None:
    cause = causes.first_cause(situation, _reach(*issues))
    assert cause.kind == kind
    assert words in cause.sentence


def test_natlink_names_the_first_cause_on_the_packets_way() -> None:
    """A pending connection behind an NSG: the connection is what stops the packet first."""
    pending = Situation("Pending", 3389, True, "VM-Win2019-2", "deallocated", 0.0, "r-7k2m9x")
    assert causes.first_cause(pending, _reach(NSG_ISSUE)).kind == "connection"
    stopped = Situation("Approved", 3389, True, "VM-Win2019-2", "stopped", 0.0, "r-7k2m9x")
    assert causes.first_cause(stopped, _reach(NSG_ISSUE)).kind == "backend"


def test_reachable_reads_both_words_azure_uses() -> None:
    assert _reach(status="Reachable").reachable and _reach(status="Connected").reachable
    assert not _reach(status="Unreachable").reachable and not _reach(status="Degraded").reachable


def test_every_action_verify_checks_is_in_the_verify_role() -> None:
    used = {
        watcher.READ,
        watcher.CHECK,
        *watcher.CAPTURE,
        watcher.AGENT_READ,
        watcher.AGENT_WRITE,
        *watcher.STORAGE,
    }
    assert used == set(roles.VERIFY)
    grant = roles.granting(watcher.CHECK)
    assert grant.verify and "`natlink role --side consumer --with-verify`" in grant.advice
