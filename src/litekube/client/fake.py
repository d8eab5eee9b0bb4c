"""An in-memory API for unit tests: `FakeTransport` implements the `Transport` protocol.

Flow of a request: the path is split into (resource type, namespace, name, subresource)
as `ResourceType.path()` builds it; the verb handler reads or changes `self._objects`,
bumps one global resourceVersion counter per write, appends a watch event to the history
and to every live watcher's queue, and records the write in `self.writes` for assertions.
Errors come back as Kubernetes `Status` bodies (404 NotFound, 409 AlreadyExists/Conflict,
403 Forbidden for a terminating namespace, 410 Expired for a compacted watch).

What it models, because controllers depend on it: uid/creationTimestamp/generation (bumped
when anything outside metadata and status changes), optimistic concurrency on PUT and on
patches that carry metadata.resourceVersion, the `status`, `scale` and namespace `finalize`
subresources, merge/strategic/JSON patches (via `litekube.api.patch`), deletion with
propagation policies (orphan and foregroundDeletion finalizers, deletionTimestamp while
finalizers remain), label and field selectors (via `litekube.api.selectors`), and watches
from a resourceVersion. No validation and no defaulting beyond metadata.

Test helpers: `writes` / `writes_to()`, `inject_error()`, `end_watches()` (stream ends, a
good informer re-watches), `compact()` (history dropped: watchers get 410 and must relist),
and `settle()` which waits until every watcher has consumed its events.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litekube.api.patch import PatchError, deep_copy, json_equal, json_merge_patch, json_patch
from litekube.api.patch import strategic_merge_patch as _strategic_merge_patch
from litekube.api.resources import RESOURCE_TYPES, ResourceType, lookup
from litekube.api.selectors import (
    SelectorError,
    format_label_selector,
    parse_field_selector,
    parse_label_selector,
)
from litekube.client.base import JSON, WatchEventDict
from litekube.client.fake_errors import (
    already_exists,
    conflict,
    error_event,
    namespace_terminating,
    not_found,
    status,
)
from litekube.machinery.clock import Clock, RealClock, rfc3339

# The alphabet of generated name suffixes (apimachinery's utilrand: no vowels, no 0/1/3).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(NAME_ALPHABET) for _ in range(length))


@dataclass
class Write:
    """One write request and its outcome, for assertions."""

    method: str
    path: str
    body: Any
    code: int
    result: Any
    content_type: str = "application/json"

    @property
    def subresource(self) -> str | None:
        return _parse_path(self.path)[4]

    @property
    def name(self) -> str | None:
        if self.method == "POST" and isinstance(self.result, dict):
            return str(self.result.get("metadata", {}).get("name") or "") or None
        return _parse_path(self.path)[3]


@dataclass
class _Watcher:
    rt: ResourceType
    namespace: str | None
    match: Callable[[JSON], bool]
    queue: asyncio.Queue[WatchEventDict | None] = field(default_factory=asyncio.Queue)
    waiting: bool = False


@dataclass
class _Injected:
    method: str
    plural: str
    code: int
    reason: str
    subresource: str | None
    remaining: int


class FakeTransport:
    def __init__(self, clock: Clock | None = None, strict_namespaces: bool = False) -> None:
        self.clock: Clock = clock or RealClock()
        # strict: creating into a missing namespace is a 404, as on a real server
        self.strict_namespaces = strict_namespaces
        self.resource_version = 1
        self._objects: dict[tuple[str, str], dict[tuple[str, str], JSON]] = {}
        self._history: list[tuple[int, ResourceType, str, JSON]] = []
        self._compacted_at = 0
        self._watchers: list[_Watcher] = []
        self._injected: list[_Injected] = []
        self.writes: list[Write] = []
        self.closed = False

    # --- Transport protocol ------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        rt, namespace, _plural, name, sub = _resolve(path)
        if rt is None:
            return 404, status(404, "NotFound", f"the server could not find the requested resource ({path})")
        injected = self._take_injected(method, rt, sub)
        if injected is not None:
            code, result = (
                injected.code,
                status(injected.code, injected.reason, f"injected {injected.reason}"),
            )
        else:
            code, result = self._dispatch(
                method, rt, namespace, name, sub, dict(query or {}), body, content_type
            )
        if method != "GET":
            self.writes.append(Write(method, path, deep_copy(body), code, deep_copy(result), content_type))
        # let other tasks (informers) run between requests, as real I/O would
        await asyncio.sleep(0)
        return code, result

    def watch(self, path: str, query: Mapping[str, str] | None = None) -> AsyncIterator[WatchEventDict]:
        return self._watch(path, dict(query or {}))

    async def close(self) -> None:
        self.closed = True
        self.end_watches()

    # --- test helpers ------------------------------------------------------------------

    def objects(self, rt: ResourceType, namespace: str | None = None) -> list[JSON]:
        """Copies of the stored objects of one type, sorted by namespace/name."""
        store = self._objects.get((rt.group, rt.plural), {})
        return [deep_copy(o) for k, o in sorted(store.items()) if namespace is None or k[0] == namespace]

    def get_object(self, rt: ResourceType, namespace: str | None, name: str) -> JSON | None:
        obj = self._store(rt).get((namespace or "" if rt.namespaced else "", name))
        return deep_copy(obj) if obj is not None else None

    def writes_to(
        self, plural: str, method: str | None = None, subresource: str | None = "*", ok: bool = True
    ) -> list[Write]:
        """Writes to one resource (plural), optionally one verb / subresource (None = main)."""
        found = []
        for w in self.writes:
            if _parse_path(w.path)[2] != plural or (method and w.method != method):
                continue
            if subresource != "*" and w.subresource != subresource:
                continue
            if ok and w.code >= 300:
                continue
            found.append(w)
        return found

    def inject_error(
        self,
        method: str,
        plural: str,
        code: int = 500,
        reason: str = "InternalError",
        subresource: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` matching requests fail with `code` instead of running."""
        self._injected.append(_Injected(method, plural, code, reason, subresource, times))

    def end_watches(self) -> None:
        """End every open watch stream (as a server's timeout would)."""
        for w in self._watchers:
            w.queue.put_nowait(None)
        self._watchers = []

    def compact(self) -> None:
        """Forget the event history: watches from older versions get 410 Gone."""
        self._history = []
        self._compacted_at = self.resource_version
        for w in self._watchers:
            w.queue.put_nowait(error_event(410, "Expired", "too old resource version"))
            w.queue.put_nowait(None)
        self._watchers = []

    async def settle(self, max_turns: int = 1000) -> None:
        """Yield until every watcher has consumed its queue and waits for more."""
        for _ in range(max_turns):
            await asyncio.sleep(0)
            if all(w.waiting and w.queue.empty() for w in self._watchers):
                # one more turn so the consumer finishes handling the last event
                await asyncio.sleep(0)
                if all(w.waiting and w.queue.empty() for w in self._watchers):
                    return

    # --- dispatch ----------------------------------------------------------------------

    def _dispatch(
        self,
        method: str,
        rt: ResourceType,
        namespace: str | None,
        name: str | None,
        sub: str | None,
        query: dict[str, str],
        body: Any,
        content_type: str,
    ) -> tuple[int, Any]:
        if name is None:
            if method == "GET":
                return self._list(rt, namespace, query)
            if method == "POST":
                return self._create(rt, namespace, body if isinstance(body, dict) else {})
            return 405, status(405, "MethodNotAllowed", "the server does not allow this method")
        if method == "GET":
            return self._get(rt, namespace, name, sub)
        if method == "PUT":
            return self._update(rt, namespace, name, sub, body if isinstance(body, dict) else {})
        if method == "PATCH":
            return self._patch(rt, namespace, name, sub, body, content_type)
        if method == "DELETE":
            return self._delete(rt, namespace, name, body if isinstance(body, dict) else {})
        if method == "POST" and sub:
            return 404, status(404, "NotFound", f"subresource {sub} is not served by the fake")
        return 405, status(405, "MethodNotAllowed", "the server does not allow this method")

    def _store(self, rt: ResourceType) -> dict[tuple[str, str], JSON]:
        return self._objects.setdefault((rt.group, rt.plural), {})

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> tuple[str, str]:
        return ((namespace or "") if rt.namespaced else "", name)

    def _list(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> tuple[int, JSON]:
        try:
            match = _matcher(rt, query)
        except SelectorError as e:
            return 400, status(400, "BadRequest", str(e))
        items = [
            deep_copy(o)
            for k, o in sorted(self._store(rt).items())
            if (not rt.namespaced or not namespace or k[0] == namespace) and match(o)
        ]
        meta = {"resourceVersion": str(self.resource_version)}
        return 200, {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta, "items": items}

    def _get(self, rt: ResourceType, namespace: str | None, name: str, sub: str | None) -> tuple[int, JSON]:
        obj = self._store(rt).get(self._key(rt, namespace, name))
        if obj is None:
            return 404, not_found(rt, name)
        if sub == "scale":
            return 200, _scale_of(obj)
        return 200, deep_copy(obj)

    def _create(self, rt: ResourceType, namespace: str | None, body: JSON) -> tuple[int, JSON]:
        obj = deep_copy(body)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            namespace = namespace or meta.get("namespace") or "default"
            meta["namespace"] = namespace
            ns = self._store(_NAMESPACES).get(("", namespace))
            if ns is None and self.strict_namespaces:
                return 404, not_found(_NAMESPACES, namespace)
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                return 403, namespace_terminating(
                    rt, meta.get("name") or meta.get("generateName", ""), namespace
                )
        else:
            meta.pop("namespace", None)
        store = self._store(rt)
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                return 422, status(422, "Invalid", "name or generateName is required")
            for _ in range(8):
                candidate = prefix + random_suffix()
                if self._key(rt, namespace, candidate) not in store:
                    meta["name"] = candidate
                    break
        name = meta["name"]
        key = self._key(rt, namespace, name)
        if key in store:
            return 409, already_exists(rt, name)
        self.resource_version += 1
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=str(self.resource_version),
            creationTimestamp=rfc3339(self.clock.now()),
            generation=1,
        )
        for transient in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(transient, None)
        _initialstatus(rt, obj)
        store[key] = obj
        self._emit(rt, "ADDED", obj)
        return 201, deep_copy(obj)

    def _update(
        self, rt: ResourceType, namespace: str | None, name: str, sub: str | None, body: JSON
    ) -> tuple[int, JSON]:
        store = self._store(rt)
        key = self._key(rt, namespace, name)
        old = store.get(key)
        if old is None:
            return 404, not_found(rt, name)
        meta = body.get("metadata") or {}
        if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
            return 409, conflict(rt, name)
        if meta.get("uid") and meta["uid"] != old["metadata"]["uid"]:
            msg = f"Precondition failed: UID in precondition: {meta['uid']}, UID in object meta: {old['metadata']['uid']}"
            return 409, status(409, "Conflict", msg)
        if sub == "scale":
            replicas = (body.get("spec") or {}).get("replicas", 0)
            new = deep_copy(old)
            new.setdefault("spec", {})["replicas"] = replicas
            code, result = self._commit(rt, key, old, new)
            return (code, _scale_of(result)) if code == 200 else (code, result)
        new = deep_copy(old)
        if sub == "status":
            new["status"] = deep_copy(body.get("status") or {})
        elif sub == "finalize" and rt is _NAMESPACES:
            new.setdefault("spec", {})["finalizers"] = list((body.get("spec") or {}).get("finalizers") or [])
        else:
            new = deep_copy(body)
            new["apiVersion"], new["kind"] = rt.api_version, rt.kind
            new_meta = new.setdefault("metadata", {})
            for fixed in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generation"):
                if fixed in old["metadata"]:
                    new_meta[fixed] = old["metadata"][fixed]
                else:
                    new_meta.pop(fixed, None)
            if "status" in rt.subresources:
                # the main resource ignores status changes (only /status writes them)
                if "status" in old:
                    new["status"] = deep_copy(old["status"])
                else:
                    new.pop("status", None)
        return self._commit(rt, key, old, new)

    def _patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        sub: str | None,
        patch: Any,
        content_type: str,
    ) -> tuple[int, JSON]:
        old = self._store(rt).get(self._key(rt, namespace, name))
        if old is None:
            return 404, not_found(rt, name)
        target = _scale_of(old) if sub == "scale" else deep_copy(old)
        try:
            if content_type.startswith("application/json-patch"):
                patched = json_patch(target, patch)
            elif content_type.startswith("application/strategic-merge-patch"):
                patched = _strategic_merge_patch(target, patch, rt.group, rt.version, rt.kind)
            else:
                patched = json_merge_patch(target, patch if isinstance(patch, dict) else {})
        except PatchError as e:
            return 422, status(422, "Invalid", str(e))
        # A patch only carries a resourceVersion precondition if it names one itself.
        patch_meta = patch.get("metadata") if isinstance(patch, dict) else None
        if not (isinstance(patch_meta, dict) and patch_meta.get("resourceVersion")):
            patched.setdefault("metadata", {})["resourceVersion"] = old["metadata"]["resourceVersion"]
        return self._update(rt, namespace, name, sub, patched)

    def _delete(self, rt: ResourceType, namespace: str | None, name: str, options: JSON) -> tuple[int, JSON]:
        store = self._store(rt)
        key = self._key(rt, namespace, name)
        old = store.get(key)
        if old is None:
            return 404, not_found(rt, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            msg = f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {old['metadata']['uid']}"
            return 409, status(409, "Conflict", msg)
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            return 409, conflict(rt, name)
        new = deep_copy(old)
        meta = new["metadata"]
        finalizers: list[str] = list(meta.get("finalizers") or [])
        policy = options.get("propagationPolicy")
        if options.get("orphanDependents") is True:
            policy = "Orphan"
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        elif policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if rt is _NAMESPACES:
            if old["metadata"].get("deletionTimestamp"):
                return 200, deep_copy(old)
            meta["deletionTimestamp"] = rfc3339(self.clock.now())
            new.setdefault("status", {})["phase"] = "Terminating"
            if finalizers:
                meta["finalizers"] = finalizers
            return self._commit(rt, key, old, new)
        if finalizers:
            meta["finalizers"] = finalizers
            meta.setdefault("deletionTimestamp", rfc3339(self.clock.now()))
            meta.setdefault("deletionGracePeriodSeconds", 0)
            return self._commit(rt, key, old, new)
        return 200, self._remove(rt, key)

    def _commit(self, rt: ResourceType, key: tuple[str, str], old: JSON, new: JSON) -> tuple[int, JSON]:
        """Store `new` over `old`: no-op detection, generation bump, finalization."""
        new_meta = new.setdefault("metadata", {})
        new_meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if json_equal(new, old):
            return 200, deep_copy(old)  # a no-op write changes nothing, not even the version
        if _spec_part(new) != _spec_part(old):
            new_meta["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if new_meta.get("deletionTimestamp") and _fully_finalized(rt, new):
            self._store(rt)[key] = new
            return 200, self._remove(rt, key)
        self.resource_version += 1
        new_meta["resourceVersion"] = str(self.resource_version)
        self._store(rt)[key] = new
        self._emit(rt, "MODIFIED", new)
        return 200, deep_copy(new)

    def _remove(self, rt: ResourceType, key: tuple[str, str]) -> JSON:
        obj = self._store(rt).pop(key)
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        self._emit(rt, "DELETED", obj)
        return deep_copy(obj)

    def _take_injected(self, method: str, rt: ResourceType, sub: str | None) -> _Injected | None:
        for inj in self._injected:
            if inj.method == method and inj.plural == rt.plural and inj.subresource == sub:
                inj.remaining -= 1
                if inj.remaining <= 0:
                    self._injected.remove(inj)
                return inj
        return None

    # --- watch -------------------------------------------------------------------------

    def _emit(self, rt: ResourceType, kind: str, obj: JSON) -> None:
        snapshot = deep_copy(obj)
        self._history.append((self.resource_version, rt, kind, snapshot))
        for w in self._watchers:
            if w.rt is rt and _in_namespace(rt, w.namespace, snapshot) and w.match(snapshot):
                w.queue.put_nowait({"type": kind, "object": deep_copy(snapshot)})

    async def _watch(self, path: str, query: dict[str, str]) -> AsyncIterator[WatchEventDict]:
        rt, namespace, _plural, _name, _sub = _resolve(path)
        if rt is None:
            yield error_event(404, "NotFound", f"the server could not find the requested resource ({path})")
            return
        try:
            match = _matcher(rt, query)
        except SelectorError as e:
            yield error_event(400, "BadRequest", str(e))
            return
        watcher = _Watcher(rt, namespace, match)
        since = query.get("resourceVersion")
        if since and since != "0":
            start = int(since)
            if start < self._compacted_at:
                yield error_event(410, "Expired", f"too old resource version: {start} ({self._compacted_at})")
                return
            for rv, ert, kind, obj in self._history:
                if rv > start and ert is rt and _in_namespace(rt, namespace, obj) and match(obj):
                    watcher.queue.put_nowait({"type": kind, "object": deep_copy(obj)})
        else:
            for k, obj in sorted(self._store(rt).items()):
                if (not rt.namespaced or not namespace or k[0] == namespace) and match(obj):
                    watcher.queue.put_nowait({"type": "ADDED", "object": deep_copy(obj)})
        self._watchers.append(watcher)
        try:
            while True:
                watcher.waiting = True
                event = await watcher.queue.get()
                watcher.waiting = False
                if event is None:
                    return
                yield event
        finally:
            if watcher in self._watchers:
                self._watchers.remove(watcher)


# --- helpers ---------------------------------------------------------------------------

_NAMESPACES = next(r for r in RESOURCE_TYPES if r.plural == "namespaces" and r.group == "")


def _parse_path(path: str) -> tuple[str, str, str, str | None, str | None]:
    """(group, version, plural, name, subresource) of a REST path; namespace dropped."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if parts and parts[0] == "api":
        group, rest = "", parts[1:]
    elif parts and parts[0] == "apis" and len(parts) > 1:
        group, rest = parts[1], parts[2:]
    else:
        return "", "", "", None, None
    version, rest = (rest[0], rest[1:]) if rest else ("", [])
    if len(rest) >= 3 and rest[0] == "namespaces" and lookup(group, version, rest[2]) is not None:
        rest = rest[2:]
    plural = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return group, version, plural, name, sub


def _resolve(path: str) -> tuple[ResourceType | None, str | None, str, str | None, str | None]:
    parts = [p for p in path.split("?")[0].split("/") if p]
    group, version, plural, name, sub = _parse_path(path)
    namespace = None
    offset = 2 if group == "" else 3
    rest = parts[offset:]
    if len(rest) >= 3 and rest[0] == "namespaces" and lookup(group, version, rest[2]) is not None:
        namespace = rest[1]
    return lookup(group, version, plural), namespace, plural, name, sub


def _in_namespace(rt: ResourceType, namespace: str | None, obj: JSON) -> bool:
    return not rt.namespaced or not namespace or obj.get("metadata", {}).get("namespace") == namespace


def _matcher(rt: ResourceType, query: Mapping[str, str]) -> Callable[[JSON], bool]:
    labels = parse_label_selector(query.get("labelSelector", ""))
    fields = parse_field_selector(rt, query.get("fieldSelector", ""))

    def match(obj: JSON) -> bool:
        return labels.matches(obj.get("metadata", {}).get("labels")) and fields.matches(obj)

    return match


def _spec_part(obj: JSON) -> JSON:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _fully_finalized(rt: ResourceType, obj: JSON) -> bool:
    if obj["metadata"].get("finalizers"):
        return False
    return not (rt is _NAMESPACES and (obj.get("spec") or {}).get("finalizers"))


def _initialstatus(rt: ResourceType, obj: JSON) -> None:
    if rt is _NAMESPACES:
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    elif rt.plural == "pods" and rt.group == "":
        obj["status"] = {
            "phase": "Pending",
            **{k: v for k, v in (obj.get("status") or {}).items() if k == "phase"},
        }
    elif "status" in rt.subresources:
        obj["status"] = {}


def _scale_of(obj: JSON) -> JSON:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if isinstance(selector, dict) and "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}  # ReplicationController: a plain map
    text = format_label_selector(selector) if selector else ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": "" if text == "<none>" else text,
        },
    }
