"""Shared informers: one list+watch per resource type, a read-only indexed cache, handlers.

Flow of `SharedInformer._run`:

    list  ──► replace the cache (diff → add/update/delete handlers) ──► has_synced = True
      ▲                                                                      │
      │ 410 Gone / ERROR event / list error (with backoff)                   ▼
      └──────────────────────────────────────────── watch from the list's resourceVersion
                                                     │ ADDED/MODIFIED/DELETED → cache + handlers
                                                     │ BOOKMARK → remember the version
                                                     └ stream end → watch again from the last version

The cache holds the objects exactly as the API sent them; they are shared by every
controller and must never be mutated (copy first, see `litekube.api.patch.deep_copy`).
It is indexed by namespace, by uid, by the uid of each ownerReference, and keeps the
objects without a controller: that is how controllers find "the pods of this ReplicaSet"
plus the orphans they may adopt without scanning a namespace of 10,000 pods, and how the
garbage collector finds dependents.

Handlers run synchronously inside the informer's task and must only enqueue keys.
`InformerFactory` hands out one informer per resource type so controllers share them.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from litekube.api.resources import ResourceType
from litekube.client.base import JSON, ApiError, Client
from litekube.machinery.clock import Clock

log = logging.getLogger(__name__)

AddHandler = Callable[[JSON], None]
UpdateHandler = Callable[[JSON, JSON], None]
DeleteHandler = Callable[[JSON], None]


@dataclass
class Handlers:
    on_add: AddHandler | None = None
    on_update: UpdateHandler | None = None
    on_delete: DeleteHandler | None = None


def object_key(obj: JSON) -> str:
    """ "namespace/name", or "name" for cluster-scoped objects (client-go MetaNamespaceKeyFunc)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name', '')}" if namespace else str(meta.get("name", ""))


def split_key(key: str) -> tuple[str | None, str]:
    namespace, sep, name = key.partition("/")
    return (namespace, name) if sep else (None, namespace)


class Store:
    """The informer's cache: key → object, plus namespace, uid and owner-uid indexes."""

    def __init__(self) -> None:
        self._items: dict[str, JSON] = {}
        self._by_namespace: dict[str, set[str]] = {}
        self._by_owner: dict[str, set[str]] = {}
        self._by_uid: dict[str, str] = {}
        self._orphans: dict[str, set[str]] = {}  # namespace → keys without a controller reference

    def get(self, key: str) -> JSON | None:
        return self._items.get(key)

    def get_by_name(self, namespace: str | None, name: str) -> JSON | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def get_by_uid(self, uid: str) -> JSON | None:
        key = self._by_uid.get(uid)
        return self._items.get(key) if key is not None else None

    def list(self, namespace: str | None = None) -> builtins.list[JSON]:
        if namespace is None:
            return list(self._items.values())
        return [self._items[k] for k in self._by_namespace.get(namespace, ())]

    def by_owner(self, owner_uid: str) -> builtins.list[JSON]:
        """Objects listing `owner_uid` among their ownerReferences (controller or not)."""
        return [self._items[k] for k in self._by_owner.get(owner_uid, ())]

    def orphans(self, namespace: str | None = None) -> builtins.list[JSON]:
        """Objects without a controller ownerReference (candidates for adoption)."""
        if namespace is None:
            return [self._items[k] for keys in self._orphans.values() for k in keys]
        return [self._items[k] for k in self._orphans.get(namespace, ())]

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def upsert(self, obj: JSON) -> JSON | None:
        key = object_key(obj)
        old = self._items.get(key)
        self._items[key] = obj
        if old is not None:
            # Most updates are status writes: same uid, same owners, so the indexes (keyed
            # by namespace, uid and owner uid) already hold the key. Re-index only on change.
            meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
            if meta.get("uid") == old_meta.get("uid") and meta.get("ownerReferences") == old_meta.get(
                "ownerReferences"
            ):
                return old
            self._unindex(key, old)
        self._index(key, obj)
        return old

    def remove(self, key: str) -> JSON | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def _index(self, key: str, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        self._by_namespace.setdefault(meta.get("namespace") or "", set()).add(key)
        if meta.get("uid"):
            self._by_uid[meta["uid"]] = key
        refs = meta.get("ownerReferences") or ()
        for ref in refs:
            self._by_owner.setdefault(ref.get("uid", ""), set()).add(key)
        if not any(ref.get("controller") is True for ref in refs):
            self._orphans.setdefault(meta.get("namespace") or "", set()).add(key)

    def _unindex(self, key: str, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        _discard(self._by_namespace, meta.get("namespace") or "", key)
        if meta.get("uid") and self._by_uid.get(meta["uid"]) == key:
            del self._by_uid[meta["uid"]]
        for ref in meta.get("ownerReferences") or ():
            _discard(self._by_owner, ref.get("uid", ""), key)
        _discard(self._orphans, meta.get("namespace") or "", key)


def _discard(index: dict[str, set[str]], value: str, key: str) -> None:
    keys = index.get(value)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[value]


class _Relist(Exception):
    pass


class SharedInformer:
    """List+watch one resource type into a `Store`, calling handlers on changes."""

    def __init__(
        self,
        client: Client,
        rt: ResourceType,
        clock: Clock,
        resync_period: float | None = None,
        namespace: str | None = None,
        watch_timeout: int = 300,
    ) -> None:
        self.client = client
        self.rt = rt
        self.clock = clock
        self.resync_period = resync_period
        self.namespace = namespace
        self.watch_timeout = watch_timeout
        self.store = Store()
        self.last_resource_version: str | None = None
        self._handlers: list[Handlers] = []
        self._synced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.relists = 0

    def add_handlers(
        self,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
    ) -> None:
        """Register handlers; if already synced, the new handler is told about every cached object."""
        handlers = Handlers(on_add, on_update, on_delete)
        self._handlers.append(handlers)
        if self.has_synced() and on_add is not None:
            for obj in self.store.list():
                self._call(on_add, obj)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        await self._synced.wait()

    def start(self) -> None:
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run(), name=f"informer-{self.rt.group_resource}"))
        if self.resync_period:
            self._tasks.append(loop.create_task(self._resync_loop()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # --- the loop ----------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 0.8  # client-go's reflector backoff: 800 ms doubling to 30 s
        while True:
            try:
                await self._list()
                delay = 0.8
                while True:
                    await self._watch()
            except _Relist:
                self.relists += 1
                continue
            except asyncio.CancelledError:
                raise
            except ApiError as e:
                if e.code == 410:  # our resourceVersion was compacted away: relist now
                    self.relists += 1
                    continue
                log.warning("informer %s: %s; relisting in %.1fs", self.rt.group_resource, e, delay)
                await self.clock.sleep(delay)
                delay = min(delay * 2, 30.0)
            except Exception as e:  # any failure: relist after a backoff
                log.warning("informer %s: %s; relisting in %.1fs", self.rt.group_resource, e, delay)
                await self.clock.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _list(self) -> None:
        listed = await self.client.list(self.rt, self.namespace)
        self.last_resource_version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        self._replace(listed.get("items") or [])
        self._synced.set()

    async def _watch(self) -> None:
        stream = self.client.watch(
            self.rt,
            self.namespace,
            resource_version=self.last_resource_version,
            timeout_seconds=self.watch_timeout,
        )
        async for event in stream:
            kind = event.get("type")
            obj = event.get("object") or {}
            if kind == "ERROR":
                # 410 Expired / Gone, or any other error: the stream cannot continue
                raise _Relist(str(obj.get("message", "")))
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv:
                self.last_resource_version = str(rv)
            if kind == "ADDED" or kind == "MODIFIED":
                self._upsert(obj)
            elif kind == "DELETED":
                self._delete(object_key(obj), obj)

    def _replace(self, items: Iterable[JSON]) -> None:
        fresh = {object_key(obj): obj for obj in items}
        for key in [k for k in self.store.keys() if k not in fresh]:
            self._delete(key, None)
        for obj in fresh.values():
            self._upsert(obj)

    def _upsert(self, obj: JSON) -> None:
        old = self.store.upsert(obj)
        for h in self._handlers:
            if old is None:
                if h.on_add is not None:
                    self._call(h.on_add, obj)
            elif h.on_update is not None:
                self._call(h.on_update, old, obj)

    def _delete(self, key: str, final: JSON | None) -> None:
        old = self.store.remove(key)
        last = final if final is not None else old
        if last is None:
            return
        for h in self._handlers:
            if h.on_delete is not None:
                self._call(h.on_delete, last)

    async def _resync_loop(self) -> None:
        assert self.resync_period
        while True:
            await self.clock.sleep(self.resync_period)
            for obj in self.store.list():
                for h in self._handlers:
                    if h.on_update is not None:
                        self._call(h.on_update, obj, obj)

    def _call(self, fn: Callable[..., None], *args: JSON) -> None:
        try:
            fn(*args)
        except Exception:  # a bad handler must not stop the informer
            log.exception("informer %s: handler failed", self.rt.group_resource)


class InformerFactory:
    """One `SharedInformer` per resource type, shared by every controller that asks."""

    def __init__(self, client: Client, clock: Clock, resync_period: float | None = None) -> None:
        self.client = client
        self.clock = clock
        self.resync_period = resync_period
        self._informers: dict[ResourceType, SharedInformer] = {}
        self._started = False

    def informer(self, rt: ResourceType) -> SharedInformer:
        inf = self._informers.get(rt)
        if inf is None:
            inf = SharedInformer(self.client, rt, self.clock, self.resync_period)
            self._informers[rt] = inf
            if self._started:
                inf.start()
        return inf

    @property
    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    def start(self) -> None:
        self._started = True
        for inf in self._informers.values():
            inf.start()

    async def wait_for_sync(self) -> None:
        await asyncio.gather(*(i.wait_for_sync() for i in self._informers.values()))

    async def stop(self) -> None:
        self._started = False
        for inf in self._informers.values():
            await inf.stop()
