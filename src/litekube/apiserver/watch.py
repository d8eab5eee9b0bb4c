"""WATCH: storage events turned into Kubernetes watch events for one client.

    storage.watch(prefix, rev) ─▶ decode (shared cache) ─▶ selector transitions ─▶ (type, object)

Many watchers see the same storage events, so decoded objects and their JSON encodings are
cached by revision and shared; they are read-only from here on.

Selector transitions follow upstream: an object that stops matching is sent as DELETED, one
that starts matching as ADDED. `sendInitialEvents=true` (the watch-list protocol) ends the
initial ADDED events with a BOOKMARK annotated `k8s.io/initial-events-end: "true"`.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson

from litekube.api.resources import ResourceType
from litekube.apiserver import conversion, errors
from litekube.apiserver.objects import JSON, decode_from_storage
from litekube.apiserver.registry import Registry
from litekube.storage.types import CompactedError, KeyValue, Storage

_CACHE_SIZE = 8192


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK
    object: JSON
    revision: int


class WatchHub:
    def __init__(self, storage: Storage, registry: Registry) -> None:
        self.storage = storage
        self.registry = registry
        self._objects: OrderedDict[tuple[str, int], JSON] = OrderedDict()
        self._encoded: OrderedDict[tuple[str, str, str, str, str], bytes] = OrderedDict()

    def _decode(self, rt: ResourceType, kv: KeyValue) -> JSON:
        key = (rt.api_version + kv.key, kv.mod_revision)
        obj = self._objects.get(key)
        if obj is None:
            obj = conversion.to_served(rt, decode_from_storage(kv.value, kv.mod_revision))
            obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
            self._objects[key] = obj
            if len(self._objects) > _CACHE_SIZE:
                self._objects.popitem(last=False)
        return obj

    def encoded(self, obj: JSON) -> bytes:
        """JSON bytes of a (cached, read-only) object, shared between watchers."""
        m = obj.get("metadata") or {}
        k = (
            obj.get("apiVersion", ""),
            obj.get("kind", ""),
            m.get("namespace", ""),
            m.get("name", ""),
            m.get("resourceVersion", ""),
        )
        data = self._encoded.get(k)
        if data is None:
            data = orjson.dumps(obj)
            self._encoded[k] = data
            if len(self._encoded) > _CACHE_SIZE:
                self._encoded.popitem(last=False)
        return data

    async def events(
        self,
        rt: ResourceType,
        namespace: str | None,
        resource_version: str,
        label_selector: str = "",
        field_selector: str = "",
        send_initial_events: bool | None = None,
    ) -> AsyncIterator[Event]:
        labels, fields = self.registry.selectors(rt, label_selector, field_selector)
        prefix = rt.storage_prefix + (f"{namespace}/" if rt.namespaced and namespace else "")

        def matches(obj: JSON | None) -> bool:
            if obj is None:
                return False
            return bool(labels.matches((obj.get("metadata") or {}).get("labels")) and fields.matches(obj))

        initial = send_initial_events if send_initial_events is not None else resource_version in ("", "0")
        if resource_version in ("", "0") or initial:
            listed = await self.storage.list(prefix)
            start = listed.revision
            if initial:
                for kv in listed.items:
                    obj = self._decode(rt, kv)
                    if matches(obj):
                        yield Event("ADDED", obj, kv.mod_revision)
            if send_initial_events:
                yield Event("BOOKMARK", _bookmark(rt, start, initial_end=True), start)
        else:
            try:
                start = int(resource_version)
            except ValueError:
                raise errors.bad_request(f"invalid resource version: {resource_version!r}") from None
        try:
            async with contextlib.aclosing(self.storage.watch(prefix, start)) as stream:
                async for ev in stream:
                    new = self._decode(rt, ev.kv)
                    old = self._decode(rt, ev.prev) if ev.prev is not None else None
                    if ev.type == "DELETE":
                        if matches(new) or matches(old):
                            yield Event("DELETED", new, ev.kv.mod_revision)
                        continue
                    now_match = matches(new)
                    if old is None:
                        if now_match:
                            yield Event("ADDED", new, ev.kv.mod_revision)
                        continue
                    was_match = matches(old)
                    if now_match and was_match:
                        yield Event("MODIFIED", new, ev.kv.mod_revision)
                    elif now_match:
                        yield Event("ADDED", new, ev.kv.mod_revision)
                    elif was_match:
                        yield Event("DELETED", new, ev.kv.mod_revision)
        except CompactedError as e:
            raise errors.gone(f"too old resource version: {e.requested} ({e.compacted})") from None


def _bookmark(rt: ResourceType, revision: int, initial_end: bool = False) -> JSON:
    m: JSON = {"resourceVersion": str(revision)}
    if initial_end:
        m["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": m}


def bookmark(rt: ResourceType, revision: int) -> JSON:
    return _bookmark(rt, revision)
