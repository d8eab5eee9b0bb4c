"""Port-forward over plain channel WebSockets (`v4.channel.k8s.io`), as non-kubectl clients use it.

The Python client and other libraries forward ports without SPDY: `GET …/portforward?ports=80`
(the kubelet's own parameter is `port`; both are accepted, repeated or comma-separated),
upgraded to a WebSocket. Port number i of the list gets two channels:

    2i      data   both ways: the bytes of one TCP connection to <podIP>:<port>
    2i + 1  error  server → client: text, when the dial or the copy fails

The first message on every channel is the port as two little-endian bytes, so the client
knows which channel is which. The session ends (Close 1000) once every port's connection
has ended, as the kubelet's `handleWebSocketStreams` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

from aiohttp import WSMsgType, web

from litekube.apiserver import errors
from litekube.node.streams.dial import dial

PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
_CHUNK = 32 * 1024


def requested_ports(request: web.Request) -> list[int]:
    raw = [*request.query.getall("ports", []), *request.query.getall("port", [])]
    ports = []
    for item in ",".join(raw).split(","):
        if not item.strip():
            continue
        try:
            port = int(item)
        except ValueError:
            raise errors.bad_request(f'unable to parse "{item}" as a port: invalid syntax') from None
        if not 0 < port < 65536:
            raise errors.bad_request(f"port {port} must be in the range 1-65535")
        ports.append(port)
    if not ports:
        raise errors.bad_request('query parameter "port" is required')
    return ports


async def serve_channels(
    request: web.Request, protocol: str, host: str | None, ports: list[int], pod_label: str, uid: str
) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=[protocol], autoping=True, compress=False)
    await ws.prepare(request)
    lock = asyncio.Lock()

    async def send(channel: int, data: bytes) -> None:
        async with lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(bytes([channel]) + data)

    # Dial first, so that nothing the client sends after seeing the port frames is lost.
    dialled = await asyncio.gather(*(dial(host, port) for port in ports))
    for i, port in enumerate(ports):
        for channel in (2 * i, 2 * i + 1):
            await send(channel, struct.pack("<H", port))
    writers: dict[int, asyncio.StreamWriter] = {}

    async def forward(i: int, port: int) -> None:
        result = dialled[i]
        if isinstance(result, str):
            await send(
                2 * i + 1, f"error forwarding port {port} to pod {pod_label}, uid {uid}: {result}".encode()
            )
            return
        reader, writer = result
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(_CHUNK):
                await send(2 * i, chunk)
        writer.close()

    for i, result in enumerate(dialled):
        if not isinstance(result, str):
            writers[2 * i] = result[1]
    tasks = [asyncio.ensure_future(forward(i, port)) for i, port in enumerate(ports)]
    done = asyncio.ensure_future(asyncio.gather(*tasks, return_exceptions=True))
    try:
        while not done.done():
            receive = asyncio.ensure_future(ws.receive())
            waiting: set[asyncio.Future[Any]] = {receive, done}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not receive.done():
                receive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receive
                break
            msg = receive.result()
            if msg.type != WSMsgType.BINARY:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                continue
            writer = writers.get(msg.data[0]) if msg.data else None
            if writer is not None and not writer.is_closing():
                writer.write(msg.data[1:])
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await done
        for writer in writers.values():
            writer.close()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close(code=1000)
    return ws
