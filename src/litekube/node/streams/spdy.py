"""A sans-I/O SPDY/3.1 framer: bytes in, frames out; frames in, bytes out.

Frame layout (draft-mbelshe-httpbis-spdy-00 / SPDY/3.1):

    control:  1 | version(15)=3 | type(16) | flags(8) | length(24) | payload
    data:     0 | stream id(31)           | flags(8) | length(24) | payload

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are one zlib stream per direction, seeded
with the protocol's fixed dictionary and flushed with Z_SYNC_FLUSH after each frame.
Decompressed, a block is: uint32 pair count, then per pair uint32 length + name and uint32
length + value (several values are joined by NUL). Everything is big-endian.

`FrameReader.feed()` accepts arbitrary slices of the byte stream (WebSocket messages split
and coalesce frames freely) and returns the complete frames; the encoder functions return
the bytes of one frame.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

VERSION = 3
FLAG_FIN = 0x01

SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9

# RST_STREAM status codes
PROTOCOL_ERROR = 1
INVALID_STREAM = 2
REFUSED_STREAM = 3
CANCEL = 5
INTERNAL_ERROR = 6
STREAM_IN_USE = 8
STREAM_ALREADY_CLOSED = 9

MAX_FRAME = 16 * 1024 * 1024  # a sanity bound: our peers send frames of at most 32 KiB

# The SPDY/3 header compression dictionary (spec section 2.6.10.1): length-prefixed header
# names and common values, then a run of status codes, dates and media types.
_DICTIONARY_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base content-encoding "
    "content-language content-length content-location content-md5 content-range content-type date "
    "etag expect expires from host if-match if-modified-since if-none-match if-range "
    "if-unmodified-since last-modified location max-forwards pragma proxy-authenticate "
    "proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
    "user-agent vary via warning www-authenticate method get status |200 OK| version HTTP/1.1 url "
    "public set-cookie keep-alive origin"
)
_DICTIONARY_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)


def _dictionary() -> bytes:
    words = []
    for chunk in _DICTIONARY_WORDS.split("|"):  # |…| marks the one entry with a space
        words.extend(chunk.split() if not chunk.startswith("200") else [chunk])
    out = b"".join(struct.pack(">I", len(w)) + w.encode() for w in words)
    return out + _DICTIONARY_TAIL.encode()


DICTIONARY = _dictionary()

Headers = dict[str, str]


class ProtocolError(Exception):
    pass


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    flags: int
    data: bytes

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


@dataclass(frozen=True)
class ControlFrame:
    type: int
    flags: int
    payload: bytes
    # Filled for SYN_STREAM / SYN_REPLY / HEADERS / RST_STREAM / PING / GOAWAY / WINDOW_UPDATE:
    stream_id: int = 0
    headers: Headers | None = None
    value: int = 0  # RST/GOAWAY status, PING id, WINDOW_UPDATE delta

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


Frame = DataFrame | ControlFrame


class HeaderCompressor:
    def __init__(self) -> None:
        self._z = zlib.compressobj(
            zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY
        )

    def encode(self, headers: Headers) -> bytes:
        raw = struct.pack(">I", len(headers))
        for name, value in headers.items():
            n, v = name.lower().encode(), value.encode()
            raw += struct.pack(">I", len(n)) + n + struct.pack(">I", len(v)) + v
        return self._z.compress(raw) + self._z.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    def __init__(self) -> None:
        self._z = zlib.decompressobj(15, DICTIONARY)

    def decode(self, block: bytes) -> Headers:
        try:
            raw = self._z.decompress(block)
        except zlib.error as e:
            raise ProtocolError(f"header block: {e}") from None
        headers: Headers = {}
        try:
            (count,) = struct.unpack_from(">I", raw, 0)
            pos = 4
            for _ in range(count):
                (n,) = struct.unpack_from(">I", raw, pos)
                name = raw[pos + 4 : pos + 4 + n].decode()
                pos += 4 + n
                (v,) = struct.unpack_from(">I", raw, pos)
                value = raw[pos + 4 : pos + 4 + v].decode()
                pos += 4 + v
                headers[name.lower()] = value.split("\0")[0]
        except (struct.error, UnicodeDecodeError) as e:
            raise ProtocolError(f"header block: {e}") from None
        return headers


class FrameReader:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._headers = HeaderDecompressor()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            length = int.from_bytes(self._buffer[5:8], "big")
            if length > MAX_FRAME:
                raise ProtocolError(f"frame of {length} bytes")
            if len(self._buffer) < 8 + length:
                break
            head, payload = bytes(self._buffer[:8]), bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            frames.append(self._frame(head, payload))
        return frames

    def _frame(self, head: bytes, payload: bytes) -> Frame:
        word, flags = struct.unpack_from(">I", head, 0)[0], head[4]
        if not word & 0x80000000:
            return DataFrame(word & 0x7FFFFFFF, flags, payload)
        version, kind = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"SPDY version {version}")
        try:
            if kind == SYN_STREAM:
                stream_id = struct.unpack_from(">I", payload, 0)[0] & 0x7FFFFFFF
                return ControlFrame(kind, flags, payload, stream_id, self._headers.decode(payload[10:]))
            if kind in (SYN_REPLY, HEADERS):
                stream_id = struct.unpack_from(">I", payload, 0)[0] & 0x7FFFFFFF
                return ControlFrame(kind, flags, payload, stream_id, self._headers.decode(payload[4:]))
            if kind in (RST_STREAM, WINDOW_UPDATE):
                stream_id, value = struct.unpack_from(">II", payload, 0)
                return ControlFrame(kind, flags, payload, stream_id & 0x7FFFFFFF, value=value & 0x7FFFFFFF)
            if kind == PING:
                return ControlFrame(kind, flags, payload, value=struct.unpack_from(">I", payload, 0)[0])
            if kind == GOAWAY:
                last, status = struct.unpack_from(">II", payload, 0)
                return ControlFrame(kind, flags, payload, last & 0x7FFFFFFF, value=status)
        except struct.error:
            raise ProtocolError(f"short control frame of type {kind}") from None
        return ControlFrame(kind, flags, payload)  # SETTINGS and unknown types: kept raw


# ---------------------------------------------------------------- encoders
def _control(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def data(stream_id: int, payload: bytes, fin: bool = False) -> bytes:
    return (
        struct.pack(">II", stream_id & 0x7FFFFFFF, ((FLAG_FIN if fin else 0) << 24) | len(payload)) + payload
    )


def syn_reply(compressor: HeaderCompressor, stream_id: int, headers: Headers, fin: bool = False) -> bytes:
    block = compressor.encode(headers)
    return _control(SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream_id) + block)


def syn_stream(
    compressor: HeaderCompressor, stream_id: int, headers: Headers, fin: bool = False, associated: int = 0
) -> bytes:
    block = compressor.encode(headers)
    return _control(SYN_STREAM, FLAG_FIN if fin else 0, struct.pack(">IIH", stream_id, associated, 0) + block)


def rst_stream(stream_id: int, status: int) -> bytes:
    return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping(ping_id: int) -> bytes:
    return _control(PING, 0, struct.pack(">I", ping_id))


def goaway(last_stream_id: int, status: int = 0) -> bytes:
    return _control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))


def window_update(stream_id: int, delta: int) -> bytes:
    return _control(WINDOW_UPDATE, 0, struct.pack(">II", stream_id, delta))


def settings(values: dict[int, int]) -> bytes:
    body = struct.pack(">I", len(values))
    for key, value in values.items():
        body += struct.pack(">II", key & 0xFFFFFF, value)  # flags byte 0, 24-bit id
    return _control(SETTINGS, 0, body)
