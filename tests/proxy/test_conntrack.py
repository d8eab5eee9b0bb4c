"""conntrack.py: which entries are finished service connections, and the ctnetlink message."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from pathlib import Path

from litekube.proxy.apply import FakeNft, NftApplier
from litekube.proxy.conntrack import Tuple, delete_message, finished_entries
from litekube.proxy.model import Endpoint, ServicePort
from litekube.proxy.rules import render

PROC = """\
ipv4     2 tcp      6 117 TIME_WAIT src=192.0.2.2 dst=10.96.0.20 sport=40001 dport=80 src=10.244.0.5 dst=192.0.2.2 sport=8080 dport=40001 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.2 dst=10.96.0.20 sport=40002 dport=80 src=10.244.0.5 dst=192.0.2.2 sport=8080 dport=40002 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 9 CLOSE src=10.244.0.7 dst=10.96.0.20 sport=5000 dport=80 src=10.244.0.5 dst=10.244.0.7 sport=8080 dport=5000 mark=0 zone=0 use=2
ipv4     2 tcp      6 117 TIME_WAIT src=192.0.2.2 dst=10.96.0.21 sport=40003 dport=80 src=10.244.0.5 dst=192.0.2.2 sport=8080 dport=40003 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 20 src=192.0.2.2 dst=10.96.0.20 sport=5353 dport=53 src=10.244.0.9 dst=192.0.2.2 sport=53 dport=5353 mark=0 zone=0 use=2
ipv4     2 tcp      6 117 TIME_WAIT src=10.244.0.5 dst=192.0.2.9 sport=8080 dport=40004 src=192.0.2.9 dst=10.96.0.20 sport=40004 dport=8080 mark=0 zone=0 use=2
"""


def test_only_finished_tcp_entries_to_the_addresses_are_picked() -> None:
    # established connections stay; a reply tuple naming the address does not count
    assert finished_entries(PROC, ["10.96.0.20"]) == [
        Tuple("192.0.2.2", "10.96.0.20", 40001, 80),
        Tuple("10.244.0.7", "10.96.0.20", 5000, 80),
    ]
    assert finished_entries(PROC, []) == []


def test_delete_message_carries_the_original_tuple() -> None:
    msg = delete_message(Tuple("192.0.2.2", "10.96.0.20", 40001, 80), 7)
    length, kind, flags, seq, _ = struct.unpack_from("=LHHLL", msg)
    assert (length, kind, flags, seq) == (len(msg), 0x102, 1, 7)  # ctnetlink delete, request
    assert msg[16] == socket.AF_INET
    assert socket.inet_aton("192.0.2.2") in msg and socket.inet_aton("10.96.0.20") in msg
    assert struct.pack("!H", 40001) in msg and struct.pack("!H", 80) in msg
    assert len(msg) % 4 == 0


class RecordingConntrack:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def forget_closed(self, addresses: Iterable[str]) -> int:
        self.calls.append(list(addresses))
        return 0


async def test_cluster_ips_leaving_the_table_are_forgotten(tmp_path: Path) -> None:
    (tmp_path / "net/ipv4/conf/all").mkdir(parents=True)
    (tmp_path / "net/ipv4/conf/all/route_localnet").write_text("1\n")
    conntrack = RecordingConntrack()
    applier = NftApplier(FakeNft(), tmp_path, conntrack)
    ep = (Endpoint("10.244.0.5", 8080),)
    web = ServicePort("default", "web", "", "TCP", 80, "10.96.0.20", endpoints=ep)
    api = ServicePort("default", "api", "", "TCP", 80, "10.96.0.21", endpoints=ep)
    await applier.apply(render([web, api]))
    await applier.apply(render([web]))
    await applier.remove()
    assert conntrack.calls == [[], ["10.96.0.21"], ["10.96.0.20"]]
