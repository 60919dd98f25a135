"""The capture files the stand-in writes are what a pcap library reads: valid headers and checksums."""

from __future__ import annotations

import io

import dpkt

from sandbox.arm import pcap

SYN = pcap.Syn(1700000000.25, "10.2.0.6", 50000, "10.2.0.5", 3389, 12345, 7)
NIC_MAC = pcap.mac_bytes("00-0D-3A-11-22-33")


def test_a_syn_frame_has_correct_checksums_and_windows_options() -> None:
    ip = dpkt.ethernet.Ethernet(pcap.frame(SYN, NIC_MAC)).data
    sent_ip, sent_tcp = ip.sum, ip.data.sum
    ip.sum = ip.data.sum = 0
    again = dpkt.ip.IP(bytes(ip))  # dpkt computes both checksums when packing zeroed ones
    assert (sent_ip, sent_tcp) == (again.sum, again.data.sum)
    assert [kind for kind, _ in dpkt.tcp.parse_opts(ip.data.opts)] == [2, 1, 3, 1, 1, 4]
    assert (ip.ttl, ip.df, ip.data.flags, ip.data.seq) == (128, 1, dpkt.tcp.TH_SYN, 12345)


def test_a_file_is_classic_libpcap_over_ethernet_with_its_times() -> None:
    data = pcap.write([SYN, SYN], NIC_MAC)
    assert data[:4] == bytes.fromhex("d4c3b2a1")  # 0xa1b2c3d4, little-endian
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    records = list(reader)
    assert reader.datalink() == dpkt.pcap.DLT_EN10MB and len(records) == 2
    stamp, frame = records[0]
    assert abs(stamp - SYN.time) < 1e-6
    eth = dpkt.ethernet.Ethernet(frame)
    assert (dpkt.utils.mac_to_str(eth.src), dpkt.utils.mac_to_str(eth.dst)) == (
        "12:34:56:78:9a:bc",
        "00:0d:3a:11:22:33",
    )
