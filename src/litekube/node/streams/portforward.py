"""`pods/{name}/portforward`: SPDY/3.1 streams to TCP ports of the pod (KUBECTL-WIRE §2.8).

    kubectl ──GET …/portforward, Upgrade: websocket, SPDY/3.1+portforward.k8s.io──▶ 101
            (or POST with Upgrade: SPDY/3.1 → 101 and raw SPDY on the TCP connection)
    then, for each local connection kubectl accepts (requestid 0, 1, …):
        SYN_STREAM {streamtype: error, port, requestid}  ◀ SYN_REPLY  (client FINs it at once)
        SYN_STREAM {streamtype: data,  port, requestid}  ◀ SYN_REPLY
    once both streams of a request are there we dial <podIP>:<port> and copy both ways:
        DATA on the data stream ─▶ socket;  socket ─▶ DATA;  socket EOF ─▶ FIN on data
        client FIN ─▶ half-close the socket; client RST_STREAM ─▶ close the socket
    and then FIN the error stream (kubectl waits for it before closing its local
    connection). A dial failure is written as text on the error stream, as the kubelet
    does: `error forwarding port 80 to pod default/web, uid …: dial tcp …: connection refused`.
    PING frames are echoed (kubectl sends one every 10 s); GOAWAY ends the session.

`SpdySession` is transport-agnostic: it is fed raw bytes and writes through `send`; the
two handlers below adapt it to a WebSocket (binary messages carry arbitrary slices of the
SPDY byte stream) and to a raw upgraded connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from litekube.apiserver.rest import ResourceRequest
from litekube.node.streams import pods, portforward_ws, spdy
from litekube.node.streams.backend import ContainerBackend
from litekube.node.streams.dial import dial

log = logging.getLogger(__name__)

WEBSOCKET_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
Send = Callable[[bytes], Awaitable[None]]
_CHUNK = 32 * 1024


@dataclass
class _Pair:
    request_id: str
    port: str = ""
    error_stream: int | None = None
    data_stream: int | None = None
    writer: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None
    client_done: bool = False
    pending: bytes = b""  # client data that arrived before the dial completed
    reset: asyncio.Event = field(default_factory=asyncio.Event)


class SpdySession:
    def __init__(self, send: Send, host: str | None, pod_label: str, uid: str) -> None:
        self._send = send
        self.host = host  # None: the pod has no IP (yet); every forward fails with that
        self.pod_label = pod_label
        self.uid = uid
        self._reader = spdy.FrameReader()
        self._headers = spdy.HeaderCompressor()
        self._pairs: dict[str, _Pair] = {}
        self._by_stream: dict[int, _Pair] = {}
        self._lock = asyncio.Lock()  # one frame at a time on the wire
        self.closed = asyncio.Event()

    async def send(self, frame: bytes) -> None:
        async with self._lock:
            await self._send(frame)

    async def feed(self, data: bytes) -> None:
        try:
            frames = self._reader.feed(data)
        except spdy.ProtocolError as e:
            log.info("port-forward: %s", e)
            self.closed.set()
            return
        for frame in frames:
            await self._handle(frame)

    async def close(self) -> None:
        self.closed.set()
        tasks = [p.task for p in self._pairs.values() if p.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for pair in self._pairs.values():
            _close_writer(pair.writer)
        self._pairs.clear()
        self._by_stream.clear()

    # ------------------------------------------------------------ frames in
    async def _handle(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.DataFrame):
            await self._on_data(frame)
        elif frame.type == spdy.SYN_STREAM:
            await self._on_syn_stream(frame)
        elif frame.type == spdy.RST_STREAM:
            pair = self._by_stream.get(frame.stream_id)
            if pair is not None:
                pair.reset.set()
                _close_writer(pair.writer)
        elif frame.type == spdy.PING:
            await self.send(spdy.ping(frame.value))
        elif frame.type == spdy.GOAWAY:
            self.closed.set()
        # SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (spdystream has no flow control).

    async def _on_syn_stream(self, frame: spdy.ControlFrame) -> None:
        headers = frame.headers or {}
        await self.send(spdy.syn_reply(self._headers, frame.stream_id, {}))
        kind = headers.get("streamtype", "")
        request_id = headers.get("requestid")
        if request_id is None:
            # Clients before requestid: the error stream is N, its data stream N + 2.
            request_id = str(frame.stream_id if kind == "error" else frame.stream_id - 2)
        if kind not in ("error", "data"):
            await self.send(spdy.rst_stream(frame.stream_id, spdy.PROTOCOL_ERROR))
            return
        pair = self._pairs.setdefault(request_id, _Pair(request_id))
        pair.port = headers.get("port", pair.port)
        if kind == "error":
            pair.error_stream = frame.stream_id
        else:
            pair.data_stream = frame.stream_id
        self._by_stream[frame.stream_id] = pair
        if frame.fin and kind == "data":
            pair.client_done = True
        if pair.error_stream is not None and pair.data_stream is not None and pair.task is None:
            pair.task = asyncio.ensure_future(self._forward(pair))

    async def _on_data(self, frame: spdy.DataFrame) -> None:
        pair = self._by_stream.get(frame.stream_id)
        if pair is None or frame.stream_id != pair.data_stream:
            return  # the error stream's (empty) FIN, or a stream we already forgot
        if frame.data and pair.writer is not None and not pair.writer.is_closing():
            pair.writer.write(frame.data)
            with contextlib.suppress(ConnectionError):
                await pair.writer.drain()
        elif frame.data and pair.writer is None:
            pair.pending += frame.data
        if frame.fin:
            pair.client_done = True
            if pair.writer is not None and pair.writer.can_write_eof():
                with contextlib.suppress(OSError):
                    pair.writer.write_eof()

    # ------------------------------------------------------------ one forwarded connection
    async def _forward(self, pair: _Pair) -> None:
        assert pair.error_stream is not None and pair.data_stream is not None
        try:
            reader = await self._dial(pair)
            if reader is not None:
                await self._copy_out(pair, reader)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a broken pod connection must not end the whole session
            log.info("port-forward %s: %s", pair.port, e)
        finally:
            _close_writer(pair.writer)
            if not self.closed.is_set():
                with contextlib.suppress(Exception):
                    await self.send(spdy.data(pair.error_stream, b"", fin=True))
            self._pairs.pop(pair.request_id, None)

    async def _dial(self, pair: _Pair) -> asyncio.StreamReader | None:
        assert pair.error_stream is not None and pair.data_stream is not None
        try:
            port = int(pair.port)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            await self._fail(pair, f"invalid port {pair.port!r}")
            return None
        connection = await dial(self.host, port)
        if isinstance(connection, str):
            await self._fail(pair, connection)
            return None
        reader, writer = connection
        pair.writer = writer
        if pair.pending:
            writer.write(pair.pending)
            pair.pending = b""
        if pair.client_done and writer.can_write_eof():
            writer.write_eof()
        return reader

    async def _fail(self, pair: _Pair, why: str) -> None:
        assert pair.error_stream is not None and pair.data_stream is not None
        message = f"error forwarding port {pair.port} to pod {self.pod_label}, uid {self.uid}: {why}"
        await self.send(spdy.data(pair.error_stream, message.encode()))
        await self.send(spdy.data(pair.data_stream, b"", fin=True))

    async def _copy_out(self, pair: _Pair, reader: asyncio.StreamReader) -> None:
        assert pair.data_stream is not None
        while not pair.reset.is_set():
            try:
                chunk = await reader.read(_CHUNK)
            except ConnectionError:
                chunk = b""
            if pair.reset.is_set():
                return
            if not chunk:
                await self.send(spdy.data(pair.data_stream, b"", fin=True))
                return
            await self.send(spdy.data(pair.data_stream, chunk))


def _close_writer(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None and not writer.is_closing():
        writer.close()


class PortForwardHandler:
    def __init__(self, backend: ContainerBackend) -> None:
        self.backend = backend

    async def __call__(self, request: web.Request, rr: ResourceRequest) -> web.StreamResponse:
        pod = await pods.get_pod(self.backend, rr)
        pods.require_node(pod)
        namespace, name = rr.namespace or "default", rr.name or ""
        uid = str((pod.get("metadata") or {}).get("uid", ""))
        if request.headers.get("Upgrade", "").lower() != "websocket":
            # Raw SPDY upgrades (kubectl's fallback) are not served: aiohttp only hands over
            # the connection for WebSocket upgrades.
            return web.Response(status=400, text="Upgrade request required")
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        channel_protocol = next((p for p in offered if p in portforward_ws.PROTOCOLS), None)
        if WEBSOCKET_PROTOCOL not in offered and channel_protocol is not None:
            ports = portforward_ws.requested_ports(request)
            host = self.backend.pod_ip(namespace, name)
            return await portforward_ws.serve_channels(
                request, channel_protocol, host, ports, f"{namespace}/{name}", uid
            )
        if WEBSOCKET_PROTOCOL not in offered:
            return web.Response(
                status=400,
                text=f"requested protocol(s) are not supported: [{' '.join(p for p in offered if p)}]; "
                f"supports [{WEBSOCKET_PROTOCOL} {' '.join(portforward_ws.PROTOCOLS)}]",
            )
        ws = web.WebSocketResponse(protocols=[WEBSOCKET_PROTOCOL], autoping=True, compress=False)
        await ws.prepare(request)
        session = SpdySession(ws.send_bytes, self.backend.pod_ip(namespace, name), f"{namespace}/{name}", uid)
        ended = asyncio.ensure_future(session.closed.wait())
        try:
            while not session.closed.is_set():
                receive = asyncio.ensure_future(ws.receive())
                await asyncio.wait({receive, ended}, return_when=asyncio.FIRST_COMPLETED)
                if not receive.done():
                    receive.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await receive
                    break
                msg = receive.result()
                if msg.type == WSMsgType.BINARY:
                    await session.feed(msg.data)
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        finally:
            ended.cancel()
            await session.close()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=1000)
        return ws
