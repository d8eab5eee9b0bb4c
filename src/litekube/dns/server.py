"""ClusterDNS: a DNS server for the cluster zone over UDP and TCP, forwarding the rest.

Flow of a query:

    UDP datagram / TCP length-prefixed message ─► dns.message.from_wire
      ─► ClusterZone.answer()  (cluster.local: answered from the informer caches, in-line)
      └► Forwarder.forward()   (anything else: host resolvers, ≤ 2 s, else SERVFAIL)
      ─► to_wire(): over UDP, an answer larger than the client's limit (512 bytes or its
         EDNS size) is sent empty with TC set, so the client retries over TCP.

The caches are a Service and an EndpointSlice informer (shared through an
`InformerFactory` when one is given); no query ever calls the API. On start, a listen
address that is not loopback (10.96.0.10) is put on the dummy interface `litekube-dns`
(or on lo where the kernel has no dummy driver; see interface.py), removed by stop().
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import struct
from collections.abc import Coroutine
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.rcode

from litekube.client.base import JSON, Client
from litekube.dns import interface
from litekube.dns.forward import Forwarder, Upstream, host_upstreams
from litekube.dns.records import ClusterZone, SliceIndex
from litekube.machinery.clock import Clock, RealClock
from litekube.machinery.informer import InformerFactory
from litekube.proxy.proxier import ENDPOINT_SLICES, SERVICES

log = logging.getLogger(__name__)

DNS_IP = "10.96.0.10"


class ClusterDNS:
    def __init__(
        self,
        client: Client,
        listen: list[tuple[str, int]] | None = None,
        upstreams: list[Upstream] | None = None,
        *,
        domain: str = "cluster.local",
        informers: InformerFactory | None = None,
        clock: Clock | None = None,
        forward_timeout: float = 2.0,
        interface_name: str = interface.INTERFACE,
    ) -> None:
        self.interface_name = interface_name
        self.listen = listen if listen is not None else [(DNS_IP, 53)]
        own = [host for host, _ in self.listen]
        self.forwarder = Forwarder(
            upstreams if upstreams is not None else host_upstreams(own), forward_timeout
        )
        self._own_informers = informers is None
        self.informers = informers or InformerFactory(client, clock or RealClock())
        self.services = self.informers.informer(SERVICES)
        self.slices = self.informers.informer(ENDPOINT_SLICES)
        self.index = SliceIndex()
        self.zone = ClusterZone(self.services.store, self.slices.store, self.index, domain)
        self._transports: list[asyncio.DatagramTransport] = []
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._added: list[tuple[str, str]] = []  # (address, device) we made local
        self.bound: list[tuple[str, int]] = []  # actual (host, port), useful with port 0

    async def start(self) -> None:
        self.slices.add_handlers(self.index.upsert, self._slice_updated, self.index.remove)
        # starting an informer twice is a no-op: safe with a shared factory, started or not
        self.services.start()
        self.slices.start()
        await asyncio.gather(self.services.wait_for_sync(), self.slices.wait_for_sync())
        try:
            for host, port in self.listen:
                if interface.needs_interface(host):
                    device = await interface.add_address(host, self.interface_name)
                    self._added.append((host, device))
                await self._listen(host, port)
        except BaseException:
            await self.stop()
            raise

    async def _listen(self, host: str, port: int) -> None:
        """UDP and TCP on the same port; with port 0, retry until a port is free for both."""
        loop = asyncio.get_running_loop()
        for _ in range(20 if port == 0 else 1):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(host, port)
            )
            bound_port = transport.get_extra_info("sockname")[1]
            try:
                server = await asyncio.start_server(self._tcp_client, host, bound_port)
            except OSError as e:
                transport.close()
                if port == 0 and e.errno == errno.EADDRINUSE:
                    continue
                raise
            self._transports.append(transport)
            self._servers.append(server)
            self.bound.append((host, bound_port))
            return
        raise OSError(errno.EADDRINUSE, f"no free port for UDP and TCP on {host}")

    async def stop(self) -> None:
        for transport in self._transports:
            transport.close()
        for server in self._servers:
            server.close()
            await server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._transports, self._servers, self.bound = [], [], []
        if self._own_informers:
            await self.informers.stop()
        for host, device in self._added:
            await interface.remove_address(host, device)
        self._added = []

    def _slice_updated(self, old: JSON, new: JSON) -> None:
        self.index.upsert(new)

    async def resolve(self, query: dns.message.Message) -> dns.message.Message:
        answer = self.zone.answer(query)
        if answer is not None:
            return answer
        return await self.forwarder.forward(query)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- TCP -----------------------------------------------------------------------------

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                header = await reader.readexactly(2)
                wire = await reader.readexactly(struct.unpack("!H", header)[0])
                query = _parse(wire)
                if query is None:
                    break
                response = await self.resolve(query)
                data = response.to_wire(max_size=65535)
                writer.write(struct.pack("!H", len(data)) + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, dns.exception.DNSException):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: ClusterDNS) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = _parse(data)
        if query is None:
            return
        answer = self.server.zone.answer(query)
        if answer is not None:  # the zone answers in-line: no task per query
            self._send(query, answer, addr)
        else:
            self.server._spawn(self._forward(query, addr))

    async def _forward(self, query: dns.message.Message, addr: tuple[str, int]) -> None:
        self._send(query, await self.server.forwarder.forward(query), addr)

    def _send(self, query: dns.message.Message, response: dns.message.Message, addr: tuple[str, int]) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        limit = max(512, query.payload) if query.edns >= 0 else 512
        try:
            data = response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            # too big for a datagram: empty answer with TC, the client asks again over TCP
            response.answer.clear()
            response.authority.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            data = response.to_wire(max_size=limit)
        self.transport.sendto(data, addr)


def _parse(wire: bytes) -> dns.message.Message | None:
    try:
        return dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None


def build_dns(
    client: Client,
    *,
    listen: list[tuple[str, int]] | None = None,
    upstreams: list[Upstream] | None = None,
    informers: InformerFactory | None = None,
    clock: Clock | None = None,
) -> ClusterDNS:
    """ClusterDNS as the server runs it: 10.96.0.10:53 (UDP+TCP) on the `litekube-dns` dummy
    interface, upstreams from /etc/resolv.conf."""
    return ClusterDNS(client, listen=listen, upstreams=upstreams, informers=informers, clock=clock)
