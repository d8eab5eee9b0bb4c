"""Decode `application/vnd.kubernetes.protobuf` request bodies into the JSON form of the object.

kubectl >= 1.32 sends typed-client creates (`kubectl create deployment|job|configmap|...`) as Kubernetes
protobuf. The flow through this package:

    decode(body)
      -> check the 4-byte magic "k8s\\0"                          (here)
      -> parse the runtime.Unknown envelope: typeMeta, raw, ...  (here, via wire.py)
      -> pick the message for (apiVersion, kind), or 415         (KINDS below)
      -> decoder.decode_message(kind message, raw)               (decoder.py, schema.py, descriptor modules)

The result equals what the same client would have sent as JSON, so the apiserver handles both alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litekube.api.protobuf.decoder import MESSAGES, decode_message
from litekube.api.protobuf.errors import ProtobufError
from litekube.api.protobuf.wire import iter_fields

__all__ = ["CONTENT_TYPE", "KINDS", "MAGIC", "ProtobufError", "decode"]

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# (apiVersion, kind) -> message descriptor name.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Namespace"): "Namespace",
    ("v1", "Pod"): "Pod",
    ("v1", "Secret"): "Secret",
    ("v1", "Service"): "Service",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("apps/v1", "Deployment"): "Deployment",
    ("apps/v1", "ReplicaSet"): "ReplicaSet",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
}
if missing := [m for m in KINDS.values() if m not in MESSAGES]:
    raise ValueError(f"KINDS names undescribed messages: {missing}")


def decode(data: bytes) -> dict[str, Any]:
    """Decode one protobuf-encoded object into its JSON dict, with apiVersion and kind set first."""
    if not data.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body: missing the 'k8s\\x00' prefix")
    envelope = _Envelope.parse(bytes(data[len(MAGIC) :]))
    if not envelope.api_version or not envelope.kind:
        raise ProtobufError("protobuf envelope has no apiVersion/kind")
    if envelope.content_encoding:
        raise ProtobufError(f"unsupported protobuf content encoding {envelope.content_encoding!r}", 415)
    message = KINDS.get((envelope.api_version, envelope.kind))
    if message is None:
        raise ProtobufError(
            f"the server cannot decode {envelope.kind} ({envelope.api_version}) from {CONTENT_TYPE}; "
            "send it as application/json (HTTP 415 Unsupported Media Type)",
            415,
        )
    obj = decode_message(message, envelope.raw)
    return {"apiVersion": envelope.api_version, "kind": envelope.kind, **obj}


@dataclass(frozen=True)
class _Envelope:
    """runtime.Unknown: {1: TypeMeta{1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding, 4: contentType}."""

    api_version: str
    kind: str
    raw: bytes
    content_encoding: str

    @classmethod
    def parse(cls, data: bytes) -> _Envelope:
        type_meta: dict[str, Any] = {}
        raw = b""
        content_encoding = ""
        for number, _wire_type, value in iter_fields(data):
            if not isinstance(value, bytes):
                raise ProtobufError(f"envelope field {number} is not length-delimited")
            if number == 1:
                type_meta = decode_message("TypeMeta", value)
            elif number == 2:
                raw = value
            elif number == 3:
                content_encoding = value.decode("utf-8", errors="replace")
        return cls(type_meta.get("apiVersion", ""), type_meta.get("kind", ""), raw, content_encoding)
