"""Forget finished connections to service addresses the proxy no longer serves.

Why: a TCP connection through a ClusterIP leaves a conntrack entry in TIME_WAIT for two
minutes, with the reply tuple `pod:port → client:sport`. When that ClusterIP goes away (the
Service is deleted, the proxy stops) and the client's next connection to another address
that leads to the same pod (a new Service, a recreated cluster) happens to get the same
source port, the kernel's socket layer sees nothing wrong, but conntrack sees a reply tuple
that is taken and silently moves the connection to another source port. The pod then
meets a tuple whose sequence numbers and timestamps belong to a different connection; if
it still has a TIME_WAIT socket for that tuple, the SYN is taken for an old duplicate and
the client waits for a one-second retransmit. kube-proxy clears stale UDP entries; here
only entries that are finished (TIME_WAIT, CLOSE) are dropped, so no live connection is
ever cut.

Flow: `forget_closed(addresses)` reads `/proc/net/nf_conntrack` (text, one entry a line),
picks TCP entries whose original destination is one of `addresses` and whose state is
finished, and sends one ctnetlink delete per entry (all in one buffer) over a
NETLINK_NETFILTER socket. Entries that vanished meanwhile answer ENOENT, which is ignored.
`Conntrack` is the seam; `NoConntrack` does nothing (tests, or a proxy in another netns).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_DELETE = 2
NLM_F_REQUEST = 0x1
NLA_F_NESTED = 0x8000
CTA_TUPLE_ORIG = 1
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
FINISHED = frozenset({"TIME_WAIT", "CLOSE"})
PROC_PATH = Path("/proc/net/nf_conntrack")


@dataclass(frozen=True)
class Tuple:
    """An entry's original-direction TCP tuple."""

    src: str
    dst: str
    sport: int
    dport: int


def finished_entries(text: str, addresses: Iterable[str]) -> list[Tuple]:
    """TCP entries of `/proc/net/nf_conntrack` text, finished, originally sent to `addresses`."""
    wanted = set(addresses)
    found = []
    for line in text.splitlines():
        fields = line.split()
        # "ipv4 2 tcp 6 117 TIME_WAIT src=… dst=… sport=… dport=… src=… (reply tuple) …"
        if len(fields) < 10 or fields[0] != "ipv4" or fields[2] != "tcp" or fields[5] not in FINISHED:
            continue
        orig: dict[str, str] = {}
        for field in fields[6:]:
            key, _, value = field.partition("=")
            if key in orig:
                break  # the reply tuple starts
            orig[key] = value
        if orig.get("dst") in wanted:
            found.append(Tuple(orig["src"], orig["dst"], int(orig["sport"]), int(orig["dport"])))
    return found


def _attr(kind: int, payload: bytes) -> bytes:
    header = struct.pack("=HH", 4 + len(payload), kind)
    return header + payload + b"\0" * (-len(payload) % 4)


def delete_message(entry: Tuple, seq: int) -> bytes:
    """One ctnetlink IPCTNL_MSG_CT_DELETE for the entry's original tuple."""
    ip = _attr(CTA_IP_V4_SRC, socket.inet_aton(entry.src)) + _attr(CTA_IP_V4_DST, socket.inet_aton(entry.dst))
    proto = (
        _attr(CTA_PROTO_NUM, bytes([socket.IPPROTO_TCP]))
        + _attr(CTA_PROTO_SRC_PORT, struct.pack("!H", entry.sport))
        + _attr(CTA_PROTO_DST_PORT, struct.pack("!H", entry.dport))
    )
    tuple_attr = _attr(
        CTA_TUPLE_ORIG | NLA_F_NESTED,
        _attr(CTA_TUPLE_IP | NLA_F_NESTED, ip) + _attr(CTA_TUPLE_PROTO | NLA_F_NESTED, proto),
    )
    body = struct.pack("=BBH", socket.AF_INET, 0, 0) + tuple_attr  # nfgenmsg: family, version, res_id
    kind = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE
    return struct.pack("=LHHLL", 16 + len(body), kind, NLM_F_REQUEST, seq, 0) + body


class Conntrack(Protocol):
    async def forget_closed(self, addresses: Iterable[str]) -> int:
        """Drop finished TCP entries sent to `addresses`; how many were asked to go."""
        ...


class NoConntrack:
    async def forget_closed(self, addresses: Iterable[str]) -> int:
        return 0


class KernelConntrack:
    """The host's conntrack table, through /proc (to find) and ctnetlink (to delete)."""

    def __init__(self, proc_path: Path = PROC_PATH) -> None:
        self.proc_path = proc_path

    async def forget_closed(self, addresses: Iterable[str]) -> int:
        wanted = list(addresses)
        if not wanted:
            return 0
        try:
            return await asyncio.to_thread(self._forget, wanted)
        except OSError as e:  # no conntrack module, no CAP_NET_ADMIN: only a lost optimisation
            log.warning("cannot clear finished conntrack entries: %s", e)
            return 0

    def _forget(self, addresses: list[str]) -> int:
        try:
            text = self.proc_path.read_text()
        except FileNotFoundError:
            return 0
        entries = finished_entries(text, addresses)
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER) as sock:
            sock.bind((0, 0))
            # no NLM_F_ACK: failures (ENOENT for an entry that expired meanwhile) are only
            # queued on our socket, which is closed unread
            batch = 200
            for start in range(0, len(entries), batch):
                chunk = entries[start : start + batch]
                sock.send(b"".join(delete_message(e, start + i + 1) for i, e in enumerate(chunk)))
        return len(entries)
