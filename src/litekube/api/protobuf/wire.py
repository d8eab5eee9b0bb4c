"""Protobuf wire format: split a message into (field number, wire type, value) triples.

Only what Kubernetes' gogo-protobuf encoding uses: varints (0), 64-bit (1), length-delimited (2) and
32-bit (5). Groups (3, 4) were never used by Kubernetes and are rejected as malformed.
"""

from __future__ import annotations

from collections.abc import Iterator

from litekube.api.protobuf.errors import ProtobufError

VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5

_MAX_VARINT_BYTES = 10


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Return (value, next position) of the varint at `pos` (unsigned, up to 64 bits)."""
    result = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos + i]
        result |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos + i + 1
    raise ProtobufError("varint longer than 10 bytes")


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield each field of one message; varint and fixed values are unsigned ints, others bytes."""
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        value: int | bytes
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            if length > end - pos:
                raise ProtobufError(f"field {number}: length {length} runs past the end of the message")
            value, pos = data[pos : pos + length], pos + length
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise ProtobufError(f"field {number}: truncated 64-bit value")
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise ProtobufError(f"field {number}: truncated 32-bit value")
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"field {number}: unsupported wire type {wire_type}")
        yield number, wire_type, value


def iter_packed_varints(data: bytes) -> Iterator[int]:
    """Values of a packed repeated varint field (proto3 style; accepted for robustness)."""
    pos = 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        yield value
