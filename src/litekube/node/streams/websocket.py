"""The channel.k8s.io WebSocket protocols that carry exec and attach.

Flow of one session (KUBECTL-WIRE §2.7):

    client ──GET …/exec?command=…  Upgrade: websocket, Sec-WebSocket-Protocol: v5.channel.k8s.io──▶
           ◀── 101, the chosen subprotocol; then an empty frame on the lowest output channel
    binary frames, first byte = channel:
        0 stdin ▶   1 stdout ◀   2 stderr ◀   3 status ◀   4 resize ▶ {"Width":…,"Height":…}
        255 ▶ [255, n]: the client closed its stream n (v5 only; n = 0 is stdin EOF)
           ◀── one Status on channel 3, then Close(1000)

`v4.channel.k8s.io` is v5 without the close signal (stdin ends with the connection);
the base64 variants send text frames whose channel is an ASCII digit and whose payload is
base64; the unversioned `channel.k8s.io` protocols put plain error text (not a Status) on
channel 3. aiohttp answers the client's Pings itself (autoping), which kubectl needs: it
moves its 61 s read deadline only when a Pong arrives.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from aiohttp import WSMsgType, web

T = TypeVar("T")

STDIN, STDOUT, STDERR, STATUS, RESIZE = 0, 1, 2, 3, 4
CLOSE_SIGNAL = 255


@dataclass(frozen=True)
class ChannelProtocol:
    name: str
    base64: bool = False
    status_json: bool = True  # v4 and later: channel 3 carries a metav1.Status
    close_signal: bool = False  # v5: [255, channel] half-closes a client stream


# In our order of preference; the client's own order decides among those it offers.
PROTOCOLS = {
    p.name: p
    for p in (
        ChannelProtocol("v5.channel.k8s.io", close_signal=True),
        ChannelProtocol("v4.channel.k8s.io"),
        ChannelProtocol("v4.base64.channel.k8s.io", base64=True),
        ChannelProtocol("channel.k8s.io", status_json=False),
        ChannelProtocol("base64.channel.k8s.io", base64=True, status_json=False),
    )
}


def is_websocket_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def offered_protocols(request: web.Request) -> list[str]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


def choose_protocol(request: web.Request) -> ChannelProtocol | None:
    """The first offered protocol we speak; with none offered, the legacy unversioned one."""
    offered = offered_protocols(request)
    if not offered:
        return PROTOCOLS["channel.k8s.io"]
    for name in offered:
        if name in PROTOCOLS:
            return PROTOCOLS[name]
    return None


class _Pipe(Generic[T]):
    """An async iterable fed by the WebSocket reader; None in the queue means EOF."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[T | None] = asyncio.Queue()
        self.closed = False

    def put(self, item: T) -> None:
        if not self.closed:
            self.queue.put_nowait(item)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[T]:
        while (item := await self.queue.get()) is not None:
            yield item


class ChannelSession:
    """One upgraded WebSocket: demultiplexes client frames, multiplexes our output."""

    def __init__(self, ws: web.WebSocketResponse, protocol: ChannelProtocol) -> None:
        self.ws = ws
        self.protocol = protocol
        self.stdin: _Pipe[bytes] = _Pipe()
        self.resizes: _Pipe[tuple[int, int]] = _Pipe()
        # Set when the client goes away (Close frame or dropped TCP): the command must stop.
        self.disconnected = asyncio.Event()
        self._lock = asyncio.Lock()

    @classmethod
    async def accept(cls, request: web.Request, protocol: ChannelProtocol) -> ChannelSession:
        ws = web.WebSocketResponse(
            protocols=[protocol.name] if protocol.name in offered_protocols(request) else [],
            autoping=True,
            compress=False,
            max_msg_size=16 * 1024 * 1024,
        )
        await ws.prepare(request)
        return cls(ws, protocol)

    async def send(self, channel: int, data: bytes) -> None:
        if self.ws.closed:
            return
        async with self._lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                if self.protocol.base64:
                    await self.ws.send_str(chr(ord("0") + channel) + base64.b64encode(data).decode())
                else:
                    await self.ws.send_bytes(bytes([channel]) + data)

    async def stdout(self, data: bytes) -> None:
        await self.send(STDOUT, data)

    async def stderr(self, data: bytes) -> None:
        await self.send(STDERR, data)

    async def finish(self, status: dict[str, Any]) -> None:
        """Write the final status on channel 3, then Close(1000): kubectl's readers end only then."""
        if self.protocol.status_json:
            await self.send(STATUS, orjson.dumps(status))
        elif status.get("status") != "Success":
            await self.send(STATUS, str(status.get("message", "")).encode())
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=1000)

    async def read_loop(self) -> None:
        """Route client frames to stdin / resize until the connection ends."""
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.BINARY:
                    self._dispatch(msg.data)
                elif msg.type == WSMsgType.TEXT and self.protocol.base64 and msg.data:
                    payload = msg.data.encode()
                    channel = payload[0] - ord("0")
                    with contextlib.suppress(ValueError):
                        self._dispatch(bytes([channel & 0xFF]) + base64.b64decode(payload[1:]))
        finally:
            self.stdin.close()
            self.resizes.close()
            self.disconnected.set()

    def _dispatch(self, data: bytes) -> None:
        if not data:
            return
        channel, payload = data[0], data[1:]
        if channel == CLOSE_SIGNAL and self.protocol.close_signal:
            if payload[:1] == bytes([STDIN]):
                self.stdin.close()
        elif channel == STDIN:
            if payload:
                self.stdin.put(payload)
        elif channel == RESIZE:
            size = _parse_resize(payload)
            if size is not None:
                self.resizes.put(size)


def _parse_resize(payload: bytes) -> tuple[int, int] | None:
    try:
        body = orjson.loads(payload)
        width, height = int(body.get("Width", 0)), int(body.get("Height", 0))
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        return None
    if width <= 0 or height <= 0:
        return None
    return width, height
