"""A small client for etcd v3's JSON gateway (etcd 3.4: `POST /v3/...` at the client URL).

Why the gateway and not gRPC: aiohttp is already a dependency and the gateway speaks the
same protobuf messages as JSON (keys and values base64, int64 fields as strings, fields at
their zero value left out). This module knows nothing of litekube's revisions; it turns
HTTP into dicts and etcd's errors into the storage exceptions:

    code 11 "required revision has been compacted"  → EtcdCompacted (the caller knows which revision)
    code 11 "required revision is a future revision" → FutureRevisionError
    anything else, or no endpoint reachable        → StorageError

Endpoints: requests go to the endpoint that answered last; when a connection cannot be
*established* the next endpoint is tried. A request whose connection broke after it was
sent is not retried, because a transaction may have been applied (a retried create would
then answer "exists" for its own write).

`watch()` opens one streaming `POST /v3/watch`; the gateway writes one JSON object per
line, `{"result": WatchResponse}`, for as long as the request stays open.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import aiohttp
import orjson

from litekube.storage.types import FutureRevisionError, StorageError

Json = dict[str, Any]


class EtcdCompacted(StorageError):
    """etcd refused a read or watch at a compacted revision."""


def encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode()


def decode(field: str | None) -> bytes:
    return base64.b64decode(field) if field else b""


def prefix_end(prefix: str) -> str:
    """The range_end that selects every key starting with prefix (etcd's `--prefix`).

    The last byte below 0xff is incremented and the rest dropped; "" (every key) is the
    single byte 0, which etcd reads as "to the end of the keyspace" (with key "\\0").
    """
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return base64.b64encode(b"\0").decode()
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode()


def key_range(prefix: str) -> Json:
    """A range over the keys under prefix ("" = every key)."""
    return {"key": encode(prefix) if prefix else encode("\0"), "range_end": prefix_end(prefix)}


def number(message: Json, field: str) -> int:
    """An int64 field (a string in the gateway's JSON, absent when 0)."""
    return int(message.get(field, 0))


class EtcdClient:
    def __init__(
        self, endpoints: Sequence[str], *, request_timeout: float = 30.0, connect_timeout: float = 5.0
    ) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoint given")
        self.endpoints = list(endpoints)  # base URLs, e.g. http://127.0.0.1:2379
        self._current = 0
        self._request_timeout = aiohttp.ClientTimeout(total=request_timeout, sock_connect=connect_timeout)
        # A watch stays open indefinitely: only connecting is bounded.
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _order(self) -> list[int]:
        count = len(self.endpoints)
        return [(self._current + step) % count for step in range(count)]

    async def call(self, path: str, body: Json) -> Json:
        """POST one unary request (e.g. "/v3/kv/range"); the decoded response or an exception."""
        if self._session is None:
            raise StorageError("etcd client is closed")
        data = orjson.dumps(body)
        failure: Exception | None = None
        for index in self._order():
            try:
                async with self._session.post(
                    self.endpoints[index] + path,
                    data=data,
                    headers={"Content-Type": "application/json"},
                    timeout=self._request_timeout,
                ) as response:
                    payload = await response.read()
                    status = response.status
            except aiohttp.ClientConnectorError as error:  # never reached etcd: safe to try another
                failure = error
                continue
            except (aiohttp.ClientError, TimeoutError) as error:
                raise StorageError(
                    f"etcd request {path} to {self.endpoints[index]} failed: {error}"
                ) from error
            self._current = index
            return self._decode(path, status, payload)
        raise StorageError(f"no etcd endpoint reachable ({', '.join(self.endpoints)}): {failure}")

    @staticmethod
    def _decode(path: str, status: int, payload: bytes) -> Json:
        try:
            message: Json = orjson.loads(payload)
        except orjson.JSONDecodeError as error:
            raise StorageError(f"etcd {path}: HTTP {status}, undecodable answer {payload[:200]!r}") from error
        if status == 200 and "error" not in message:
            return message
        raise error_from(message, f"etcd {path}: HTTP {status}")

    async def watch(self, create_request: Json) -> AsyncGenerator[Json, None]:
        """The WatchResponses of one watch stream, until the stream or the consumer ends."""
        if self._session is None:
            raise StorageError("etcd client is closed")
        body = orjson.dumps({"create_request": create_request})
        failure: Exception | None = None
        for index in self._order():
            try:
                response = await self._session.post(
                    self.endpoints[index] + "/v3/watch",
                    data=body,
                    # gRPC metadata "hasleader" (clientv3's WithRequireLeader): a member that
                    # loses its leader ends the stream instead of going silent.
                    headers={"Content-Type": "application/json", "Grpc-Metadata-hasleader": "true"},
                    timeout=self._stream_timeout,
                )
            except aiohttp.ClientConnectorError as error:
                failure = error
                continue
            except aiohttp.ClientError as error:
                raise StorageError(f"etcd watch to {self.endpoints[index]} failed: {error}") from error
            self._current = index
            break
        else:
            raise StorageError(f"no etcd endpoint reachable ({', '.join(self.endpoints)}): {failure}")
        try:
            if response.status != 200:
                raise self._decode_error(await response.read(), response.status)
            buffer = b""
            # Our own line splitting: a large batch of events is one long line, longer than
            # aiohttp's readline limit.
            try:
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    while (end := buffer.find(b"\n")) >= 0:
                        line, buffer = buffer[:end], buffer[end + 1 :]
                        if line.strip():
                            yield self._watch_result(line)
            except aiohttp.ClientError as error:
                raise StorageError(f"etcd watch stream broke: {error}") from error
            if buffer.strip():
                yield self._watch_result(buffer)
        finally:
            response.release()
            with contextlib.suppress(Exception):
                response.close()

    @staticmethod
    def _decode_error(payload: bytes, status: int) -> StorageError:
        try:
            return error_from(orjson.loads(payload), f"etcd watch: HTTP {status}")
        except orjson.JSONDecodeError:
            return StorageError(f"etcd watch: HTTP {status}: {payload[:200]!r}")

    @staticmethod
    def _watch_result(line: bytes) -> Json:
        message: Json = orjson.loads(line)
        if "error" in message:
            raise error_from(
                message["error"] if isinstance(message["error"], dict) else message, "etcd watch"
            )
        result: Json = message.get("result", {})
        return result


def error_from(message: Json, context: str) -> StorageError:
    text = str(message.get("message") or message.get("error") or message)
    if "required revision has been compacted" in text:
        return EtcdCompacted(text)
    if "required revision is a future revision" in text:
        return FutureRevisionError(text)
    return StorageError(f"{context}: {text}")
