"""Schema-driven decoding of one protobuf message into its Kubernetes JSON form.

Flow: `decode_message(name, data)` splits `data` into fields (wire.py), groups the values by field number,
then walks the message's descriptor (schema.py) in Go struct order and builds the dict Go's
`encoding/json` would produce for the same object: JSON names, `omitempty` rules, maps as objects,
`[]byte` as base64, and the apimachinery types that are scalars in JSON (Time, Quantity, IntOrString,
FieldsV1, RawExtension) converted by `_SPECIAL`. Field numbers without a descriptor entry are skipped,
which is how protobuf readers treat fields newer than their schema.
"""

from __future__ import annotations

import base64
import datetime
import struct
from collections.abc import Callable
from typing import Any

import orjson

from litekube.api.protobuf import (
    apps_batch,
    authentication,
    core_objects,
    core_pod,
    core_pod_status,
    meta,
    networking,
)
from litekube.api.protobuf.errors import ProtobufError
from litekube.api.protobuf.schema import Field, Message, Presence, check_references, parse_messages
from litekube.api.protobuf.wire import FIXED64, LENGTH_DELIMITED, VARINT, iter_fields, iter_packed_varints

_MODULES = (meta, core_pod, core_pod_status, core_objects, apps_batch, networking, authentication)
_TEXTS: dict[str, str] = {}
for _module in _MODULES:
    if _clash := _TEXTS.keys() & _module.MESSAGES.keys():
        raise ValueError(f"{_module.__name__} redefines {sorted(_clash)}")
    _TEXTS.update(_module.MESSAGES)
MESSAGES: dict[str, Message] = parse_messages(_TEXTS)
check_references(MESSAGES)

_ZERO: dict[str, Any] = {"string": "", "bytes": "", "bool": False, "int32": 0, "int64": 0, "double": 0.0}
# Nesting in these schemas is shallow (PodSpec is ~8 levels); the cap only stops hostile input.
_MAX_DEPTH = 64


def decode_message(name: str, data: bytes, depth: int = 0) -> dict[str, Any]:
    """Decode `data` as message `name` into a JSON-ready dict."""
    if depth > _MAX_DEPTH:
        raise ProtobufError("message nesting too deep")
    message = MESSAGES[name]
    by_number = message.by_number()
    values: dict[int, list[int | bytes]] = {}
    for number, wire_type, value in iter_fields(data):
        field = by_number.get(number)
        if field is None:
            continue
        _check_wire_type(message, field, wire_type)
        values.setdefault(number, []).append(value)

    out: dict[str, Any] = {}
    for field in message.fields:
        raw = values.get(field.number)
        try:
            _emit(out, field, raw, depth)
        except ProtobufError as err:
            if err.message.startswith(f"{name}."):
                raise
            raise ProtobufError(f"{name}.{field.name}: {err.message}") from None
    return out


def _emit(out: dict[str, Any], field: Field, raw: list[int | bytes] | None, depth: int) -> None:
    if field.is_map:
        entries = {} if raw is None else _decode_map(field, raw, depth)
        if entries or field.presence is not Presence.OMIT_EMPTY:
            out[field.name] = entries
    elif field.repeated:
        items = [] if raw is None else _decode_repeated(field, raw, depth)
        if items:
            out[field.name] = items
    elif field.inline:
        if raw is not None:
            out.update(decode_message(field.type, _as_bytes(raw[-1]), depth + 1))
    elif raw is None:
        if field.presence is Presence.ALWAYS:
            out[field.name] = _ZERO[field.type] if not field.is_message else _special_zero(field.type)
    else:
        # A non-repeated field seen twice: protobuf says the last value wins (messages would merge,
        # but no Kubernetes encoder writes a singular field twice).
        value = _decode_single(field.type, raw[-1], depth)
        if field.is_message:
            # None is Go's zero Time: `omitempty`/`omitzero` drop it, a field without them prints null.
            if value is not None or field.presence is not Presence.OMIT_EMPTY:
                out[field.name] = value
        elif field.presence is not Presence.OMIT_EMPTY or value != _ZERO[field.type]:
            out[field.name] = value


def _decode_repeated(field: Field, raw: list[int | bytes], depth: int) -> list[Any]:
    items: list[Any] = []
    for value in raw:
        if isinstance(value, bytes) and field.type in ("int32", "int64", "bool"):
            # Packed encoding (proto3 default); gogo's proto2 output is unpacked, but accept both.
            items.extend(_scalar(field.type, v) for v in iter_packed_varints(value))
        else:
            items.append(_decode_single(field.type, value, depth))
    return items


def _decode_map(field: Field, raw: list[int | bytes], depth: int) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for entry in raw:
        key: str = ""
        value: Any = None
        for number, _wire_type, item in iter_fields(_as_bytes(entry)):
            if number == 1:
                key = _scalar("string", item)
            elif number == 2:
                value = _decode_single(field.type, item, depth)
        if value is None:
            value = _ZERO[field.type] if not field.is_message else _special_zero(field.type)
        entries[key] = value
    return entries


def _decode_single(type_name: str, value: int | bytes, depth: int) -> Any:
    if type_name in _ZERO:
        return _scalar(type_name, value)
    data = _as_bytes(value)
    special = _SPECIAL.get(type_name)
    if special is not None:
        return special(data)
    return decode_message(type_name, data, depth + 1)


def _scalar(type_name: str, value: int | bytes) -> Any:
    if type_name == "string":
        try:
            return _as_bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtobufError("string field is not valid UTF-8") from None
    if type_name == "bytes":
        return base64.b64encode(_as_bytes(value)).decode("ascii")
    if isinstance(value, bytes):
        raise ProtobufError(f"expected a number for a {type_name} field")
    if type_name == "bool":
        return value != 0
    if type_name == "int64":
        return value - (1 << 64) if value >= 1 << 63 else value
    if type_name == "int32":
        # Negative int32s are sign-extended to 64 bits on the wire; keep the low 32 bits.
        value &= 0xFFFF_FFFF
        return value - (1 << 32) if value >= 1 << 31 else value
    if type_name == "double":
        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    raise ProtobufError(f"unknown scalar type {type_name}")


def _as_bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a length-delimited value")
    return value


_WIRE_TYPES = {"int32": VARINT, "int64": VARINT, "bool": VARINT, "double": FIXED64}


def _check_wire_type(message: Message, field: Field, wire_type: int) -> None:
    expected = LENGTH_DELIMITED if field.is_map else _WIRE_TYPES.get(field.type, LENGTH_DELIMITED)
    if wire_type == expected:
        return
    if field.repeated and expected == VARINT and wire_type == LENGTH_DELIMITED:
        return  # packed repeated varints
    raise ProtobufError(f"{message.name}.{field.name}: wire type {wire_type}, expected {expected}")


# --- apimachinery types that are not objects in JSON ---------------------------------------------------


def _fields(name: str, data: bytes) -> dict[str, Any]:
    return decode_message(name, data)


def _time(data: bytes) -> str | None:
    """metav1.Time: an empty message is Go's zero time, which JSON writes as null; else RFC 3339 seconds."""
    if not data:
        return None
    seconds = _fields("Time", data).get("seconds", 0)
    try:
        moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError(f"time {seconds} out of range") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(data: bytes) -> int | str:
    fields = _fields("IntOrString", data)
    if fields.get("type", 0) == 1:
        return str(fields.get("strVal", ""))
    return int(fields.get("intVal", 0))


def _quantity(data: bytes) -> str:
    # The wire form is already the canonical string; an empty one is the zero Quantity, "0" in JSON.
    return str(_fields("Quantity", data).get("string", "")) or "0"


def _raw_json(data: bytes) -> Any:
    """FieldsV1 / RawExtension: their single bytes field holds JSON, embedded as-is in the JSON form."""
    raw = b""
    for number, _wire_type, value in iter_fields(data):
        if number == 1:
            raw = _as_bytes(value)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtobufError("embedded raw object is not JSON") from None


_SPECIAL: dict[str, Callable[[bytes], Any]] = {
    "Time": _time,
    "IntOrString": _int_or_string,
    "Quantity": _quantity,
    "FieldsV1": _raw_json,
    "RawExtension": _raw_json,
}


def _special_zero(type_name: str) -> Any:
    special = _SPECIAL.get(type_name)
    return special(b"") if special is not None else {}
