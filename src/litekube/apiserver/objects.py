"""Small helpers on API objects (plain dicts) used across the apiserver."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

import orjson

JSON = dict[str, Any]

# The alphabet upstream uses for generated name suffixes (no vowels, no confusable digits).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(n))


def deepcopy(obj: Any) -> Any:
    """Deep copy of JSON-shaped data; orjson round trip is faster than copy.deepcopy."""
    return orjson.loads(orjson.dumps(obj))


def meta(obj: JSON) -> JSON:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def encode_for_storage(obj: JSON) -> bytes:
    """Objects are stored without resourceVersion (the storage revision is the source of truth)
    and with `metadata` as the first key, so lists can splice the revision in as bytes."""
    m = obj.get("metadata") or {}
    if "resourceVersion" in m:
        m = {k: v for k, v in m.items() if k != "resourceVersion"}
    return orjson.dumps({"metadata": m, **{k: v for k, v in obj.items() if k != "metadata"}})


_META_PREFIX = b'{"metadata":{'


def encoded_with_revision(value: bytes, revision: int) -> bytes:
    """Stored bytes with metadata.resourceVersion set, without decoding when possible."""
    if value.startswith(_META_PREFIX):
        rest = value[len(_META_PREFIX) :]
        rv = b'"resourceVersion":"' + str(revision).encode() + b'"'
        return _META_PREFIX + rv + (b"," + rest if not rest.startswith(b"}") else rest)
    return orjson.dumps(decode_from_storage(value, revision))


def decode_from_storage(value: bytes, revision: int) -> JSON:
    obj: JSON = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj
