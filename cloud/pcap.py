"""What a packet capture file says the backend saw: who opened TCP connections to which port.

Network Watcher writes a capture as a classic pcap file (``.cap``) into a storage blob. natlink
reads it with dpkt, a maintained pcap library, rather than by hand: the byte layout (endianness
by magic number, nanosecond variants, link types) is the library's job. Only TCP SYNs without
ACK count: each is one connection attempt, and its source address is what the backend sees as
the client, the second NAT of the double NAT.
"""

from __future__ import annotations

import io
import socket
from collections import Counter
from dataclasses import dataclass

import dpkt

_ETHERNET = (dpkt.pcap.DLT_EN10MB,)
_RAW_IP = (
    dpkt.pcap.DLT_RAW,
    101,
    228,
)  # DLT_RAW's value differs by platform; 101 and 228 are LINKTYPE_RAW/IPV4


class CaptureUnreadable(ValueError):
    """The file is not a pcap natlink can read; the message says why."""


@dataclass(frozen=True)
class Syns:
    """Connection attempts (TCP SYN, no ACK) by source and destination, as the capture holds them."""

    packets: int
    counts: tuple[tuple[str, str, int, int], ...]
    """``(source, destination, destination port, SYNs)``, most SYNs first."""

    def to_port(self, port: int) -> Counter[str]:
        """SYNs to ``port`` by source address."""
        found: Counter[str] = Counter()
        for source, _, dport, count in self.counts:
            if dport == port:
                found[source] += count
        return found

    def destinations(self, port: int) -> tuple[str, ...]:
        """The addresses SYNs to ``port`` went to: what arrived at the backend."""
        return tuple(dict.fromkeys(d for _, d, dport, _ in self.counts if dport == port))


def syns(data: bytes) -> Syns:
    """Count the TCP SYNs in a pcap file's bytes."""
    try:
        reader = dpkt.pcap.Reader(io.BytesIO(data))
    except (ValueError, dpkt.dpkt.Error) as error:
        raise CaptureUnreadable(f"not a pcap file ({error})") from error
    link = reader.datalink()
    if link not in (*_ETHERNET, *_RAW_IP):
        raise CaptureUnreadable(f"link type {link} is neither Ethernet nor raw IP")
    counts: Counter[tuple[str, str, int]] = Counter()
    packets = 0
    for _, frame in reader:
        packets += 1
        found = _syn(frame, link)
        if found:
            counts[found] += 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return Syns(packets, tuple((s, d, p, n) for (s, d, p), n in ordered))


def _syn(frame: bytes, link: int) -> tuple[str, str, int] | None:
    """``(source, destination, destination port)`` of a SYN without ACK, or None for anything else."""
    try:
        ip = dpkt.ethernet.Ethernet(frame).data if link in _ETHERNET else _raw_ip(frame)
    except (dpkt.dpkt.Error, ValueError):
        return None
    tcp = getattr(ip, "data", None)
    if not isinstance(tcp, dpkt.tcp.TCP):
        return None
    if not tcp.flags & dpkt.tcp.TH_SYN or tcp.flags & dpkt.tcp.TH_ACK:
        return None
    family = socket.AF_INET6 if isinstance(ip, dpkt.ip6.IP6) else socket.AF_INET
    return socket.inet_ntop(family, ip.src), socket.inet_ntop(family, ip.dst), tcp.dport


def _raw_ip(frame: bytes) -> dpkt.Packet:
    return dpkt.ip6.IP6(frame) if frame[:1] and frame[0] >> 4 == 6 else dpkt.ip.IP(frame)
