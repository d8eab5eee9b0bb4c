"""Cluster DNS benchmark: service-name queries against a trivial DNS server in the same run.

Rows (name, figure, baseline, unit):
- queries/s for `svc-N.default.svc.cluster.local` A records through ClusterDNS (UDP on
  127.0.0.1, 1,000 services in the informer cache, 64 queries in flight), against a trivial
  dnspython UDP server that answers every query with one fixed A record: the floor of
  parsing and writing DNS messages in Python on this machine.
- p99 latency in ms of the same queries, same baseline.

The client is the same for both: one UDP socket, a window of outstanding queries matched
by message id. Prints nothing; `run()` returns the rows.
"""

from __future__ import annotations

import asyncio
import time
from typing import cast

import dns.message
import dns.rrset

from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.dns.server import ClusterDNS
from litekube.proxy.proxier import SERVICES

SERVICE_COUNT = 1000
QUERIES = 20_000
IN_FLIGHT = 64


class _Echo(asyncio.DatagramProtocol):
    """The baseline: parse, answer one fixed A record, write."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(query.question[0].name, 5, "IN", "A", "10.96.0.1"))
        self.transport.sendto(response.to_wire(), addr)


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[None]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        future = self.waiting.pop(int.from_bytes(data[:2], "big"), None)
        if future is not None and not future.done():
            future.set_result(None)


async def _load(port: int) -> tuple[float, float]:
    """(queries/s, p99 ms) for QUERIES service-name queries, IN_FLIGHT at a time."""
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(_Client, remote_addr=("127.0.0.1", port))
    wires = []
    for i in range(QUERIES):
        query = dns.message.make_query(f"svc-{i % SERVICE_COUNT}.default.svc.cluster.local", "A")
        query.id = i % 65536
        wires.append((query.id, query.to_wire()))
    latencies: list[float] = []
    queue = iter(wires)

    async def worker() -> None:
        for qid, wire in queue:
            future = loop.create_future()
            client.waiting[qid] = future
            sent = time.perf_counter()
            transport.sendto(wire)
            await asyncio.wait_for(future, 2)
            latencies.append(time.perf_counter() - sent)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - start
    transport.close()
    latencies.sort()
    return QUERIES / elapsed, latencies[int(len(latencies) * 0.99)] * 1000


async def run() -> list[tuple[str, float, float, str]]:
    api = Client(FakeTransport())
    for i in range(SERVICE_COUNT):
        body = {
            "metadata": {"name": f"svc-{i}", "namespace": "default"},
            "spec": {"clusterIP": f"10.96.{i // 250 + 1}.{i % 250 + 1}", "ports": [{"port": 80}]},
        }
        await api.create(SERVICES, body)
    server = ClusterDNS(api, listen=[("127.0.0.1", 0)], upstreams=[])
    await server.start()
    loop = asyncio.get_running_loop()
    echo, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    try:
        qps, p99 = await _load(server.bound[0][1])
        base_qps, base_p99 = await _load(echo.get_extra_info("sockname")[1])
    finally:
        echo.close()
        await server.stop()
    return [
        (
            f"DNS service-name queries/s (UDP, {IN_FLIGHT} in flight, {SERVICE_COUNT} services)",
            qps,
            base_qps,
            "q/s",
        ),
        ("DNS service-name query p99 latency", p99, base_p99, "ms"),
    ]


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
