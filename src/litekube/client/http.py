"""HTTP transport: the API over HTTPS (remote agents) or over the server's local Unix socket.

The Unix socket is how components co-located with the apiserver reach it: the same HTTP
stack, no TLS, trusted by file permissions (the socket lives in the 0700 data directory).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson

from litekube.client.base import WatchEventDict


class HttpTransport:
    def __init__(
        self,
        base_url: str = "http://localhost",
        *,
        unix_socket: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        token: str | None = None,
        user_agent: str = "litekube",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._unix_socket = unix_socket
        self._ssl = ssl_context
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector: aiohttp.BaseConnector
            if self._unix_socket:
                connector = aiohttp.UnixConnector(path=self._unix_socket, limit=64)
            else:
                connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False, limit=64)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                json_serialize=lambda o: orjson.dumps(o).decode(),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        session = self._get_session()
        data = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else None
        async with session.request(
            method, self.base_url + path, params=query, data=data, headers=headers
        ) as resp:
            raw = await resp.read()
            try:
                decoded = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                decoded = {"message": raw.decode(errors="replace")}
            return resp.status, decoded

    async def watch(self, path: str, query: Mapping[str, str] | None = None) -> AsyncIterator[WatchEventDict]:
        session = self._get_session()
        async with session.get(self.base_url + path, params=query) as resp:
            if resp.status >= 300:
                raw = await resp.read()
                try:
                    status = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    status = {"message": raw.decode(errors="replace")}
                yield {"type": "ERROR", "object": status}
                return
            buffer = b""
            async for chunk in resp.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield orjson.loads(line)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)
