"""ClusterDNS over real UDP/TCP sockets on 127.0.0.1, fed by a FakeTransport; upstream is a fake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import cast

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.dns.forward import host_upstreams
from litekube.dns.server import ClusterDNS
from litekube.proxy.proxier import ENDPOINT_SLICES, SERVICES
from tests.proxy.objects import endpoint, endpoint_slice, service


class FakeUpstream(asyncio.DatagramProtocol):
    """Answers every query with `A 192.0.2.99`, counting what it got."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        self.queries.append(query.question[0].name.to_text())
        response = dns.message.make_response(query)
        response.answer.append(
            dns.rrset.from_text(query.question[0].name, 60, "IN", "A", "192.0.2.99")  # type: ignore[attr-defined]
        )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[FakeUpstream, int]]:
    loop = asyncio.get_running_loop()
    protocol = FakeUpstream()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=("127.0.0.1", 0))
    yield protocol, transport.get_extra_info("sockname")[1]
    transport.close()


@pytest.fixture
async def server(upstream: tuple[FakeUpstream, int]) -> AsyncIterator[tuple[ClusterDNS, Client]]:
    transport = FakeTransport()
    client = Client(transport)
    await client.create(
        SERVICES, service("web", "10.96.0.20", [{"name": "http", "port": 80, "protocol": "TCP"}])
    )
    headless = service("db", "None", [{"name": "pg", "port": 5432, "protocol": "TCP"}])
    await client.create(SERVICES, headless)
    eps = [endpoint("10.244.0.5"), endpoint("10.244.0.6"), endpoint("10.244.0.7", ready=False)]
    eps[0]["hostname"] = "db-0"
    await client.create(
        ENDPOINT_SLICES, endpoint_slice("db", eps, [{"name": "pg", "port": 5433, "protocol": "TCP"}])
    )
    await client.create(
        SERVICES,
        {
            "metadata": {"name": "ext", "namespace": "default"},
            "spec": {"type": "ExternalName", "externalName": "example.org"},
        },
    )
    dns_server = ClusterDNS(client, listen=[("127.0.0.1", 0)], upstreams=[("127.0.0.1", upstream[1])])
    await dns_server.start()
    yield dns_server, client
    await dns_server.stop()


async def ask(server: ClusterDNS, name: str, rdtype: str = "A", tcp: bool = False) -> dns.message.Message:
    host, port = server.bound[0]
    query = dns.message.make_query(name, rdtype)
    if tcp:
        return await dns.asyncquery.tcp(query, host, timeout=2, port=port)
    return await dns.asyncquery.udp(query, host, timeout=2, port=port)


def values(response: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in response.answer for rd in rrset)


async def test_service_name_answers_cluster_ip_over_udp_and_tcp(server: tuple[ClusterDNS, Client]) -> None:
    dns_server, _ = server
    for tcp in (False, True):
        response = await ask(dns_server, "web.default.svc.cluster.local", tcp=tcp)
        assert response.rcode() == dns.rcode.NOERROR and values(response) == ["10.96.0.20"]
        assert response.flags & dns.flags.AA and response.answer[0].ttl == 5


async def test_headless_service_answers_ready_endpoints(server: tuple[ClusterDNS, Client]) -> None:
    dns_server, _ = server
    assert values(await ask(dns_server, "db.default.svc.cluster.local")) == ["10.244.0.5", "10.244.0.6"]
    assert values(await ask(dns_server, "db-0.db.default.svc.cluster.local")) == ["10.244.0.5"]
    assert values(await ask(dns_server, "10-244-0-6.db.default.svc.cluster.local")) == ["10.244.0.6"]


async def test_srv_records_for_named_ports(server: tuple[ClusterDNS, Client]) -> None:
    dns_server, _ = server
    assert values(await ask(dns_server, "_http._tcp.web.default.svc.cluster.local", "SRV")) == [
        "0 100 80 web.default.svc.cluster.local."
    ]
    assert values(await ask(dns_server, "_pg._tcp.db.default.svc.cluster.local", "SRV")) == [
        "0 100 5433 10-244-0-6.db.default.svc.cluster.local.",
        "0 100 5433 db-0.db.default.svc.cluster.local.",
    ]
    missing = await ask(dns_server, "_nope._tcp.web.default.svc.cluster.local", "SRV")
    assert missing.rcode() == dns.rcode.NXDOMAIN


async def test_pod_names_external_name_and_negative_answers(server: tuple[ClusterDNS, Client]) -> None:
    dns_server, _ = server
    assert values(await ask(dns_server, "10-244-0-9.default.pod.cluster.local")) == ["10.244.0.9"]
    cname = await ask(dns_server, "ext.default.svc.cluster.local")
    assert values(cname) == ["example.org."] and cname.answer[0].rdtype == dns.rdatatype.CNAME
    unknown = await ask(dns_server, "nope.default.svc.cluster.local")
    assert unknown.rcode() == dns.rcode.NXDOMAIN
    assert unknown.authority[0].rdtype == dns.rdatatype.SOA
    aaaa = await ask(dns_server, "web.default.svc.cluster.local", "AAAA")
    assert aaaa.rcode() == dns.rcode.NOERROR and aaaa.answer == [] and aaaa.authority


async def test_other_names_go_to_the_upstream(
    server: tuple[ClusterDNS, Client], upstream: tuple[FakeUpstream, int]
) -> None:
    dns_server, _ = server
    for tcp in (False, True):
        response = await ask(dns_server, "example.com", tcp=tcp)
        assert values(response) == ["192.0.2.99"]
    assert upstream[0].queries == ["example.com.", "example.com."]


async def test_cache_follows_changes_without_api_calls_per_query(server: tuple[ClusterDNS, Client]) -> None:
    dns_server, client = server
    transport = client.transport
    assert isinstance(transport, FakeTransport)
    await client.create(SERVICES, service("late", "10.96.0.21", [{"port": 80}]))
    deadline = time.monotonic() + 2
    while not values(await ask(dns_server, "late.default.svc.cluster.local")):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    writes_before = len(transport.writes)
    await client.delete(SERVICES, "late", "default")
    while (await ask(dns_server, "late.default.svc.cluster.local")).rcode() != dns.rcode.NXDOMAIN:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert len(transport.writes) == writes_before + 1  # only our delete


async def test_unreachable_upstream_gives_servfail_quickly() -> None:
    client = Client(FakeTransport())
    # a bound socket that never answers: the forwarder must give up by its deadline
    loop = asyncio.get_running_loop()
    silent, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    dead = ("127.0.0.1", silent.get_extra_info("sockname")[1])
    dns_server = ClusterDNS(client, listen=[("127.0.0.1", 0)], upstreams=[dead], forward_timeout=0.3)
    await dns_server.start()
    try:
        started = time.monotonic()
        response = await ask(dns_server, "example.com")
        assert response.rcode() == dns.rcode.SERVFAIL and time.monotonic() - started < 1.5
    finally:
        await dns_server.stop()
        silent.close()


async def test_big_udp_answer_is_truncated_and_complete_over_tcp(server: tuple[ClusterDNS, Client]) -> None:
    dns_server, client = server
    many = [endpoint(f"10.244.1.{i}") for i in range(1, 60)]
    await client.create(SERVICES, service("big", "None", [{"port": 80}]))
    await client.create(ENDPOINT_SLICES, endpoint_slice("big", many, [{"port": 80}]))
    deadline = time.monotonic() + 2
    while True:
        udp = await ask(dns_server, "big.default.svc.cluster.local")
        if udp.flags & dns.flags.TC:
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert len(values(await ask(dns_server, "big.default.svc.cluster.local", tcp=True))) == 59


def test_host_upstreams_skip_our_own_addresses(tmp_path: object) -> None:
    from pathlib import Path

    conf = Path(str(tmp_path)) / "resolv.conf"
    conf.write_text(
        "search x\nnameserver 10.96.0.10\nnameserver 127.0.0.1 # us\nnameserver 192.0.2.53\nnameserver ::1\n"
    )
    assert host_upstreams(["127.0.0.1"], conf) == [("192.0.2.53", 53)]
