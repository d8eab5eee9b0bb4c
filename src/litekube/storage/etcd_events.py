"""etcd's key/values and watch events as litekube's KeyValue / WatchEvent, and the revision map.

Revisions: a new etcd cluster starts at revision 1 with no keys, where our protocol's
empty store is revision 0 (the other backends' first write is revision 1). So litekube's
revision is etcd's minus one, here and nowhere else:

    etcd revision   1 (empty)  2 (first write)  3 ...
    resourceVersion 0          1                2 ...

Every mod_revision, create_revision, header revision and compaction revision crosses this
module on its way in or out; the mapping is a bijection, so etcd's ordering, preconditions
and compaction points keep their meaning exactly.
"""

from __future__ import annotations

from litekube.storage.etcd_client import Json, decode, number
from litekube.storage.types import KeyValue, WatchEvent

OFFSET = 1


def to_etcd(revision: int) -> int:
    return revision + OFFSET


def from_etcd(revision: int) -> int:
    return revision - OFFSET


def header_revision(response: Json) -> int:
    return from_etcd(number(response.get("header", {}), "revision"))


def key_value(kv: Json) -> KeyValue:
    return KeyValue(
        decode(kv["key"]).decode(),
        decode(kv.get("value")),
        from_etcd(number(kv, "create_revision")),
        from_etcd(number(kv, "mod_revision")),
    )


def watch_event(event: Json) -> WatchEvent:
    """One etcd event (requested with prev_kv) as the event our other backends emit.

    PUT: prev is the previous value unless the put created the key (create == mod
    revision). DELETE: etcd's kv holds only the key and the delete's revision; ours holds the
    deleted value and create_revision (from prev_kv) with mod_revision = the delete's.
    """
    kv = event["kv"]
    prev_kv = event.get("prev_kv")
    revision = from_etcd(number(kv, "mod_revision"))
    key = decode(kv["key"]).decode()
    if event.get("type") == "DELETE":
        if prev_kv is None:  # history below the event was compacted meanwhile: value unknown
            return WatchEvent("DELETE", KeyValue(key, b"", revision, revision), None)
        prev = key_value(prev_kv)
        return WatchEvent("DELETE", KeyValue(key, prev.value, prev.create_revision, revision), prev)
    current = key_value(kv)
    created = number(kv, "create_revision") == number(kv, "mod_revision")
    return WatchEvent("PUT", current, None if created or prev_kv is None else key_value(prev_kv))
