"""`kubectl port-forward` through SPDY/3.1 in a WebSocket, and the SPDY session itself."""

from __future__ import annotations

import asyncio
import re
import struct
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from litekube.node.streams import spdy
from litekube.node.streams.portforward import SpdySession
from tests.streams.conftest import KUBECTL, Env, pod

BIG = b"0123456789abcdef" * 65536  # 1 MiB: far past any flow-control window


@pytest.fixture
async def http_target() -> AsyncIterator[int]:
    """A local HTTP server standing in for the pod's port."""

    async def small(request: web.Request) -> web.Response:
        return web.Response(text=f"hello from {request.path}")

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=BIG)

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/{tail:.*}", small)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def test_port_forward_serves_several_connections(cluster: Env, http_target: int) -> None:
    cluster.backend.add_pod(pod("web"))
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        "port-forward",
        "pod/web",
        f":{http_target}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cluster.env(),
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
        assert match is not None, line
        local = int(match.group(1))
        connector = aiohttp.TCPConnector(force_close=True)  # one TCP connection per request
        async with aiohttp.ClientSession(connector=connector) as http:
            for path in ("/one", "/two"):
                async with http.get(f"http://127.0.0.1:{local}{path}") as resp:
                    assert await resp.text() == f"hello from {path}"
            async with http.get(f"http://127.0.0.1:{local}/big") as resp:
                assert await resp.read() == BIG
        lines = [(await asyncio.wait_for(process.stdout.readline(), 5)).decode() for _ in range(4)]
        handled = [x for x in lines if not x.startswith("Forwarding from [::1]")]
        assert handled == [f"Handling connection for {local}\n"] * 3
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


# ------------------------------------------------------------ the SPDY session on its own
class Peer:
    """The client end (kubectl's role): encodes frames, decodes the session's answers."""

    def __init__(self) -> None:
        self.headers = spdy.HeaderCompressor()
        self.reader = spdy.FrameReader()
        self.frames: list[spdy.Frame] = []
        self.arrived = asyncio.Event()

    async def send(self, data: bytes) -> None:
        self.frames += self.reader.feed(data)
        self.arrived.set()

    async def until(self, predicate: object, timeout: float = 5.0) -> None:
        assert callable(predicate)
        async with asyncio.timeout(timeout):
            while not predicate():
                self.arrived.clear()
                await self.arrived.wait()

    def data_on(self, stream_id: int) -> tuple[bytes, bool]:
        frames = [f for f in self.frames if isinstance(f, spdy.DataFrame) and f.stream_id == stream_id]
        return b"".join(f.data for f in frames), any(f.fin for f in frames)


async def _feed_slowly(session: SpdySession, data: bytes) -> None:
    for i in range(0, len(data), 3):  # frames split across transport messages
        await session.feed(data[i : i + 3])


async def test_ping_is_echoed_and_settings_ignored() -> None:
    peer = Peer()
    session = SpdySession(peer.send, "127.0.0.1", "default/web", "uid-1")
    await _feed_slowly(session, spdy.settings({4: 1000}) + spdy.ping(7) + spdy.ping(9))
    pings = [f.value for f in peer.frames if isinstance(f, spdy.ControlFrame) and f.type == spdy.PING]
    assert pings == [7, 9]
    await session.close()


async def test_refused_dial_is_reported_on_the_error_stream() -> None:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # bound, never listening: connection refused
        peer = Peer()
        session = SpdySession(peer.send, "127.0.0.1", "default/web", "uid-1")
        hdrs = {"streamtype": "error", "port": str(closed_port), "requestid": "0"}
        await session.feed(spdy.syn_stream(peer.headers, 1, hdrs) + spdy.data(1, b"", fin=True))
        await session.feed(spdy.syn_stream(peer.headers, 3, {**hdrs, "streamtype": "data"}))
        await peer.until(lambda: peer.data_on(1)[1])
    replies = [
        f.stream_id for f in peer.frames if isinstance(f, spdy.ControlFrame) and f.type == spdy.SYN_REPLY
    ]
    assert replies == [1, 3]
    message, _ = peer.data_on(1)
    assert message.decode() == (
        f"error forwarding port {closed_port} to pod default/web, uid uid-1: "
        f"dial tcp 127.0.0.1:{closed_port}: connect: connection refused"
    )
    assert peer.data_on(3) == (b"", True)
    await session.close()


async def test_data_both_ways_with_half_close() -> None:
    received = bytearray()

    async def echo_upper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.extend(await reader.read())  # until the client's FIN reaches us as EOF
        writer.write(bytes(received).upper())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo_upper, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        peer = Peer()
        session = SpdySession(peer.send, "127.0.0.1", "default/web", "")
        hdrs = {"streamtype": "error", "port": str(port), "requestid": "5"}
        frames = (
            spdy.syn_stream(peer.headers, 1, hdrs)
            + spdy.data(1, b"", fin=True)
            + spdy.syn_stream(peer.headers, 3, {**hdrs, "streamtype": "data"})
            + spdy.data(3, b"abc")
            + spdy.data(3, b"def", fin=True)
        )
        await _feed_slowly(session, frames)
        await peer.until(lambda: peer.data_on(1)[1])  # the error stream ends last
        assert peer.data_on(3) == (b"ABCDEF", True)
        assert peer.data_on(1) == (b"", True)
        await session.close()
    finally:
        server.close()
        await server.wait_closed()


def test_header_blocks_share_one_zlib_context() -> None:
    compressor, reader = spdy.HeaderCompressor(), spdy.FrameReader()
    wire = b"".join(
        spdy.syn_stream(compressor, n, {"streamtype": "data", "port": "80", "requestid": str(n)})
        for n in (1, 3, 5)
    )
    frames = reader.feed(wire)
    assert [f.headers for f in frames if isinstance(f, spdy.ControlFrame)] == [
        {"streamtype": "data", "port": "80", "requestid": str(n)} for n in (1, 3, 5)
    ]
    # Later blocks lean on the earlier ones' history: alone, the second frame cannot be read.
    first_length = 8 + (struct.unpack(">I", wire[4:8])[0] & 0xFFFFFF)
    with pytest.raises(spdy.ProtocolError):
        spdy.FrameReader().feed(wire[first_length:])


async def test_channel_websocket_port_forward_for_other_clients(cluster: Env, http_target: int) -> None:
    """The Python client's protocol: v4.channel.k8s.io, two channels per port, port-number preamble."""
    cluster.backend.add_pod(pod("web"))
    url = f"{cluster.url}/api/v1/namespaces/default/pods/web/portforward?ports={http_target},1"
    async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=["v4.channel.k8s.io"]) as ws:
        assert ws.protocol == "v4.channel.k8s.io"
        preamble = {}
        for _ in range(4):
            first = await ws.receive_bytes(timeout=5)
            preamble[first[0]] = struct.unpack("<H", first[1:3])[0]
        assert preamble == {0: http_target, 1: http_target, 2: 1, 3: 1}
        await ws.send_bytes(b"\x00GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        body, errors = b"", b""
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.BINARY:
                break
            if msg.data[0] == 0:
                body += msg.data[1:]
            elif msg.data[0] == 3:
                errors += msg.data[1:]
        assert body.startswith(b"HTTP/1.1 200 OK") and body.endswith(b"hello from /ws")
        assert errors.decode() == (
            "error forwarding port 1 to pod default/web, uid uid-web: dial tcp 127.0.0.1:1: connect: connection refused"
        )
