"""Small helpers on API objects (plain dicts) used across the apiserver."""

from __future__ import annotations

import datetime
import functools
import random
import uuid
from typing import Any

import orjson

from litekube.api.resources import ResourceType

JSON = dict[str, Any]

# The alphabet upstream uses for generated name suffixes (no vowels, no confusable digits).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Names and uids must be unique, not secret: the `random` module's generator (seeded from
# os.urandom, reseeded after fork) spares the urandom system call per object, whose
# release of the GIL lets the storage threads in on every create.
def random_suffix(n: int = 5) -> str:
    return "".join(random.choices(_SUFFIX_ALPHABET, k=n))


def new_uid() -> str:
    """A random (version 4) UUID."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def deepcopy(obj: Any) -> Any:
    """Deep copy of JSON-shaped data; orjson round trip is faster than copy.deepcopy."""
    return orjson.loads(orjson.dumps(obj))


def meta(obj: JSON) -> JSON:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


_TYPE_KEYS = frozenset({"apiVersion", "kind", "metadata"})


def encode_for_storage(obj: JSON, served: ResourceType | None = None) -> bytes:
    """Objects are stored without resourceVersion (the storage revision is the source of truth).

    With `served` (a type stored as it is served) the bytes start with `stored_prefix(served)`:
    apiVersion, kind, then metadata, so a list or a watch can splice the revision in and
    send the bytes as they are. Otherwise `metadata` comes first (the older layout, still
    read everywhere), and the served kind is set after decoding."""
    m = obj.get("metadata") or {}
    if "resourceVersion" in m:
        m = {k: v for k, v in m.items() if k != "resourceVersion"}
    if served is not None:
        head = {"apiVersion": served.api_version, "kind": served.kind, "metadata": m}
        return orjson.dumps({**head, **{k: v for k, v in obj.items() if k not in _TYPE_KEYS}})
    return orjson.dumps({"metadata": m, **{k: v for k, v in obj.items() if k != "metadata"}})


_META_PREFIX = b'{"metadata":{'


@functools.cache
def stored_prefix(rt: ResourceType) -> bytes:
    """`{"apiVersion":"…","kind":"…","metadata":{`: how values stored for `rt` begin."""
    return orjson.dumps({"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {}})[:-2]


def encoded_with_revision(value: bytes, revision: int, rt: ResourceType | None = None) -> bytes:
    """Stored bytes with metadata.resourceVersion set, without decoding when possible."""
    for prefix in (_META_PREFIX, stored_prefix(rt) if rt is not None else None):
        if prefix is not None and value.startswith(prefix):
            return splice_revision(value, revision, len(prefix))
    return orjson.dumps(decode_from_storage(value, revision))


def splice_revision(value: bytes, revision: int, at: int) -> bytes:
    """`value` with `"resourceVersion":"<revision>"` as the first key of the object opened at `at`."""
    rest = value[at:]
    rv = b'"resourceVersion":"' + str(revision).encode() + b'"'
    return value[:at] + rv + (b"," + rest if not rest.startswith(b"}") else rest)


def decode_from_storage(value: bytes, revision: int) -> JSON:
    obj: JSON = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj
