"""WATCH: storage events turned into Kubernetes watch events for one client.

    storage.watch(prefix, rev) ─▶ decode (shared cache) ─▶ selector transitions ─▶ (type, object)

Many watchers see the same storage events, so decoded objects and their JSON encodings are
cached by revision and shared; they are read-only from here on. A watch without selectors
does not decode at all when the stored bytes already carry the served apiVersion and kind
(see objects.encode_for_storage): its events hold the stored bytes with the resourceVersion
spliced in (`Event.encoded`, `object` None); `event_json` and `event_object` give either form.

Selector transitions follow upstream: an object that stops matching is sent as DELETED, one
that starts matching as ADDED. `sendInitialEvents=true` (the watch-list protocol) ends the
initial ADDED events with a BOOKMARK annotated `k8s.io/initial-events-end: "true"`.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass

import orjson

from litekube.api.resources import ResourceType
from litekube.apiserver import conversion, errors
from litekube.apiserver.objects import JSON, decode_from_storage, splice_revision, stored_prefix
from litekube.apiserver.registry import Registry
from litekube.storage.types import CompactedError, KeyValue, Storage

_CACHE_SIZE = 8192


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    object: JSON | None  # None when only `encoded` is known
    revision: int
    encoded: bytes | None = None  # the object's JSON (shared, read-only)


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

    def event_json(self, ev: Event) -> bytes:
        """The JSON of the event's object (shared between watchers: never mutate it)."""
        if ev.encoded is not None:
            return ev.encoded
        assert ev.object is not None
        return self.encoded(ev.object)

    @staticmethod
    def event_object(ev: Event) -> JSON:
        """The event's object; shared and read-only when the event carries one."""
        if ev.object is not None:
            return ev.object
        assert ev.encoded is not None
        obj: JSON = orjson.loads(ev.encoded)
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

        if labels.empty and fields.empty and not conversion.needs_conversion(rt):
            events = self._unfiltered(rt, prefix, resource_version, send_initial_events)
        else:
            events = self._filtered(rt, prefix, resource_version, send_initial_events, matches)
        async with contextlib.aclosing(events):
            async for event in events:
                yield event

    async def _start(
        self, rt: ResourceType, prefix: str, resource_version: str, send_initial_events: bool | None
    ) -> tuple[int, list[KeyValue]]:
        """(revision to watch from, the objects to send as ADDED first)."""
        initial = send_initial_events if send_initial_events is not None else resource_version in ("", "0")
        if resource_version in ("", "0") or initial:
            listed = await self.storage.list(prefix)
            return listed.revision, listed.items if initial else []
        try:
            return int(resource_version), []
        except ValueError:
            raise errors.bad_request(f"invalid resource version: {resource_version!r}") from None

    async def _unfiltered(
        self, rt: ResourceType, prefix: str, resource_version: str, send_initial_events: bool | None
    ) -> AsyncGenerator[Event, None]:
        """Every event under the prefix; no object is decoded unless stored in an older layout."""
        head = stored_prefix(rt)
        at = len(head)

        def event(type_: str, kv: KeyValue) -> Event:
            if kv.value.startswith(head):
                return Event(type_, None, kv.mod_revision, splice_revision(kv.value, kv.mod_revision, at))
            return Event(type_, self._decode(rt, kv), kv.mod_revision)

        start, items = await self._start(rt, prefix, resource_version, send_initial_events)
        for kv in items:
            yield event("ADDED", kv)
        if send_initial_events:
            yield Event("BOOKMARK", _bookmark(rt, start, initial_end=True), start)
        try:
            async with contextlib.aclosing(self.storage.watch(prefix, start)) as stream:
                async for ev in stream:
                    if ev.type == "DELETE":
                        yield event("DELETED", ev.kv)
                    else:
                        yield event("MODIFIED" if ev.prev is not None else "ADDED", ev.kv)
        except CompactedError as e:
            raise errors.gone(f"too old resource version: {e.requested} ({e.compacted})") from None

    async def _filtered(
        self,
        rt: ResourceType,
        prefix: str,
        resource_version: str,
        send_initial_events: bool | None,
        matches: Callable[[JSON | None], bool],
    ) -> AsyncGenerator[Event, None]:
        start, items = await self._start(rt, prefix, resource_version, send_initial_events)
        for kv in items:
            obj = self._decode(rt, kv)
            if matches(obj):
                yield Event("ADDED", obj, kv.mod_revision)
        if send_initial_events:
            yield Event("BOOKMARK", _bookmark(rt, start, initial_end=True), start)
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
