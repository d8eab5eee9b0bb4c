"""gRPC probes: one `grpc.health.v1.Health/Check` call over HTTP/2 cleartext (prior knowledge).

Flow of `grpc_probe(host, port, service, limit)`, all under one deadline of `limit`
seconds as upstream's prober (pkg/probe/grpc) does with a context:
1. dial: open TCP, send the HTTP/2 preface and our SETTINGS, wait for the server's SETTINGS.
   Like grpc-go's blocking dial, a refused connection is retried (short backoff) until the
   deadline, so "nothing listening" ends as the dial timeout message;
2. call: one stream, POST /grpc.health.v1.Health/Check with a length-prefixed protobuf
   `HealthCheckRequest{service}`; read the headers, the one response message and the
   trailers (grpc-status, grpc-message);
3. judge: SERVING (1) passes; any other status, a non-zero grpc-status or an error fails,
   with upstream's messages (they become the Unhealthy event's text), e.g.
   `service unhealthy (responded with "NOT_SERVING")`,
   `error: health rpc probe failed: rpc error: code = NotFound desc = unknown service`,
   `timeout: failed to connect service "10.244.0.5:9000" within 1s: context deadline exceeded`.

The two protobuf messages have one field each, so they are encoded by hand; HTTP/2 framing
and HPACK come from the pure-Python `h2` package.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.exceptions

SUCCESS, FAILURE = "success", "failure"
CHECK_PATH = "/grpc.health.v1.Health/Check"
USER_AGENT = "kube-probe/1.36"

# grpc.health.v1.HealthCheckResponse.ServingStatus
SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
# grpc status codes as grpc-go prints them (codes.Code.String())
STATUS_CODES = (
    "OK Canceled Unknown InvalidArgument DeadlineExceeded NotFound AlreadyExists PermissionDenied "
    "ResourceExhausted FailedPrecondition Aborted OutOfRange Unimplemented Internal Unavailable "
    "DataLoss Unauthenticated"
).split()
UNIMPLEMENTED, UNAVAILABLE, INTERNAL = 12, 14, 13


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"rpc error: code = {code_name(code)} desc = {message}")
        self.code = code
        self.message = message


def code_name(code: int) -> str:
    return STATUS_CODES[code] if 0 <= code < len(STATUS_CODES) else f"Code({code})"


def encode_request(service: str) -> bytes:
    """HealthCheckRequest{service = 1} with the gRPC 5-byte prefix (uncompressed, length)."""
    body = b""
    if service:  # proto3 leaves an empty string out
        raw = service.encode()
        body = b"\x0a" + _varint(len(raw)) + raw
    return b"\x00" + len(body).to_bytes(4, "big") + body


def decode_status(body: bytes) -> int:
    """HealthCheckResponse.status (field 1, varint); unknown fields are skipped, absent = 0."""
    status, i = 0, 0
    while i < len(body):
        key, i = _read_varint(body, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(body, i)
            if field == 1:
                status = value
        elif wire == 2:
            size, i = _read_varint(body, i)
            i += size
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return status


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


class _Http2:
    """One cleartext HTTP/2 connection driven by asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )

    async def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def events(self) -> list[h2.events.Event]:
        data = await self.reader.read(65536)
        if not data:
            raise RpcError(UNAVAILABLE, "error reading from server: EOF")
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            raise RpcError(UNAVAILABLE, f"connection error: {e}") from e
        await self.flush()  # SETTINGS and PING acknowledgements
        return events

    async def handshake(self) -> None:
        self.conn.initiate_connection()
        await self.flush()
        while True:
            for event in await self.events():
                if isinstance(event, h2.events.RemoteSettingsChanged):
                    return
                if isinstance(event, h2.events.ConnectionTerminated):
                    raise RpcError(UNAVAILABLE, "connection closed before server preface received")

    async def unary(self, authority: str, path: str, message: bytes, budget: float) -> bytes:
        """One unary call; the response message without its prefix, or RpcError."""
        stream = self.conn.get_next_available_stream_id()
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("user-agent", USER_AGENT),
            ("te", "trailers"),
            ("grpc-timeout", f"{max(1, int(budget * 1e6))}u"),
        ]
        self.conn.send_headers(stream, headers)
        self.conn.send_data(stream, message, end_stream=True)
        await self.flush()
        body, fields = bytearray(), {}
        while True:
            for event in await self.events():
                if getattr(event, "stream_id", stream) != stream:
                    continue
                if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                    fields.update({str(k): str(v) for k, v in event.headers})
                elif isinstance(event, h2.events.DataReceived):
                    body.extend(event.data)
                    self.conn.acknowledge_received_data(event.flow_controlled_length, stream)
                    await self.flush()
                elif isinstance(event, h2.events.StreamReset):
                    raise RpcError(
                        INTERNAL, f"stream terminated by RST_STREAM with error code: {event.error_code}"
                    )
                elif isinstance(event, h2.events.ConnectionTerminated):
                    raise RpcError(UNAVAILABLE, "error reading from server: connection closed")
                elif isinstance(event, h2.events.StreamEnded):
                    return _result(fields, bytes(body))


def _result(fields: dict[str, str], body: bytes) -> bytes:
    status = fields.get(":status", "")
    if "grpc-status" not in fields:
        if status != "200":
            raise RpcError(UNAVAILABLE, f"unexpected HTTP status code received from server: {status}")
        raise RpcError(INTERNAL, "server closed the stream without sending trailers")
    code = int(fields["grpc-status"])
    if code:
        raise RpcError(code, urllib.parse.unquote(fields.get("grpc-message", "")))
    if len(body) < 5 or len(body) < 5 + int.from_bytes(body[1:5], "big"):
        raise RpcError(INTERNAL, "grpc: failed to unmarshal the received message: truncated")
    if body[0]:
        raise RpcError(INTERNAL, "grpc: compressed response without grpc-encoding")
    return body[5 : 5 + int.from_bytes(body[1:5], "big")]


async def _dial(host: str, port: int, deadline: float) -> _Http2:
    """Connect and exchange SETTINGS, retrying refused/failed attempts until the deadline."""
    backoff = 0.1
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
            backoff = min(backoff * 2, 1.0)
            continue
        connection = _Http2(reader, writer)
        try:
            await connection.handshake()
            return connection
        except (RpcError, OSError):
            await _close(connection)
        except asyncio.CancelledError:  # the deadline passed mid-handshake
            connection.writer.close()
            raise
            await asyncio.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
            backoff = min(backoff * 2, 1.0)


async def _close(connection: _Http2) -> None:
    with contextlib.suppress(Exception):
        connection.conn.close_connection()
        await connection.flush()
    connection.writer.close()
    with contextlib.suppress(Exception):
        await connection.writer.wait_closed()


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def grpc_probe(host: str, port: int, service: str, limit: float) -> tuple[str, str]:
    """(SUCCESS | FAILURE, message) as upstream's gRPC prober reports them."""
    address = _address(host, port)
    within = f"{limit:g}s"
    deadline = time.monotonic() + limit
    connection: _Http2 | None = None
    try:
        try:
            async with asyncio.timeout(limit):
                connection = await _dial(host, port, deadline)
        except TimeoutError:
            return (
                FAILURE,
                f'timeout: failed to connect service "{address}" within {within}: context deadline exceeded',
            )
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                remaining = max(0.001, deadline - time.monotonic())
                reply = await connection.unary(address, CHECK_PATH, encode_request(service), remaining)
        except TimeoutError:
            return FAILURE, f"timeout: health rpc did not complete within {within}"
        except RpcError as e:
            if e.code == UNIMPLEMENTED:
                return FAILURE, (
                    "error: this server does not implement the grpc health protocol "
                    f"(grpc.health.v1.Health): {e.message}"
                )
            if e.code == 4:  # DeadlineExceeded from the server's own grpc-limit handling
                return FAILURE, f"timeout: health rpc did not complete within {within}"
            return FAILURE, f"error: health rpc probe failed: {e}"
        except OSError as e:
            return FAILURE, f"error: health rpc probe failed: rpc error: code = Unavailable desc = {e}"
        try:
            status = decode_status(reply)
        except ValueError as e:
            return FAILURE, f"error: health rpc probe failed: rpc error: code = Internal desc = {e}"
        if status != 1:
            return FAILURE, f'service unhealthy (responded with "{SERVING_STATUS.get(status, str(status))}")'
        return SUCCESS, "service healthy"
    finally:
        if connection is not None:
            await _close(connection)
