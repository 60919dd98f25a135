"""Capture files as Network Watcher writes them: classic libpcap, Ethernet, IPv4, TCP.

Formats: the libpcap file format (wiki.wireshark.org/Development/LibpcapFileFormat: magic
0xa1b2c3d4, version 2.4, link type 1 = Ethernet), IPv4 (RFC 791) and TCP (RFC 9293) headers with
their one's-complement checksums. The packets are data in a file, never sent anywhere.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

ETHERNET = 1
SNAPLEN = 65535
# Every frame an Azure VM receives comes from this MAC, its virtual network's gateway (azure-docs
# virtual-network/virtual-networks-faq.md, "12:34:56:78:9a:bc").
AZURE_GATEWAY_MAC = bytes.fromhex("123456789abc")
# A Windows SYN's options: MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted (12 bytes).
SYN_OPTIONS = bytes([2, 4, 0x05, 0xB4, 1, 3, 3, 8, 1, 1, 4, 2])


@dataclass(frozen=True)
class Syn:
    """One TCP SYN as the capture saw it."""

    time: float
    source: str
    source_port: int
    destination: str
    destination_port: int
    sequence: int
    ip_id: int


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(syn: Syn, destination_mac: bytes) -> bytes:
    """The Ethernet frame of ``syn`` as it arrives at the VM's NIC."""
    src, dst = ipaddress.IPv4Address(syn.source).packed, ipaddress.IPv4Address(syn.destination).packed
    offset = (20 + len(SYN_OPTIONS)) // 4
    tcp = struct.pack(
        "!HHIIBBHHH", syn.source_port, syn.destination_port, syn.sequence, 0, offset << 4, 0x02, 64240, 0, 0
    )
    tcp += SYN_OPTIONS
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), syn.ip_id, 0x4000, 128, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return destination_mac + AZURE_GATEWAY_MAC + b"\x08\x00" + ip + tcp


def write(syns: list[Syn], destination_mac: bytes, bytes_per_packet: int = 0) -> bytes:
    """A pcap file of ``syns``; ``bytes_per_packet`` truncates each record (0: whole frames), as
    the capture's ``bytesToCapturePerPacket`` does."""
    snaplen = bytes_per_packet or SNAPLEN
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, ETHERNET)]
    for syn in syns:
        data = frame(syn, destination_mac)
        kept = data[:snaplen]
        seconds = int(syn.time)
        out.append(struct.pack("<IIII", seconds, int((syn.time - seconds) * 1e6), len(kept), len(data)))
        out.append(kept)
    return b"".join(out)


def mac_bytes(mac: str) -> bytes:
    """A NIC's ``macAddress`` (``00-0D-3A-…``) as 6 bytes."""
    return bytes.fromhex(mac.replace("-", "").replace(":", "")) if mac else b"\x00\x0d\x3a\x00\x00\x01"
