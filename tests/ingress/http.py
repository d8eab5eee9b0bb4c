"""A minimal HTTP/1.1 client and echo backends for the end-to-end tests (127.0.0.1 only).

One connection per request (`Connection: close`), as curl does, so a request never rides a
keep-alive connection that an old nginx worker is closing during a reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


async def get(
    port: int,
    path: str = "/",
    host: str = "myapp.example.com",
    tls: ssl.SSLContext | None = None,
    timeout: float = 5.0,
) -> Response:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=tls, server_hostname=host if tls else None), timeout
    )
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(int(lines[0].split()[1]), headers, body.decode(errors="replace"))


@contextlib.asynccontextmanager
async def echo_backend(name: str) -> AsyncIterator[int]:
    """An HTTP server on a free 127.0.0.1 port answering "<name> <path> <host>"; yields the port."""

    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=f"{name} {request.path_qs} {request.headers.get('Host', '')}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield int(port)
    finally:
        await runner.cleanup()
