"""The garbage collector: ownerReferences decide when dependents go.

Keys are object uids. Handlers on every watched type enqueue (upstream's graph builder
acts on the same transitions, never on a plain status write):
- a new object whose owner is not cached or is being deleted, or an object whose
  ownerReferences changed (are its owners still there?);
- an object starting deletion with the `orphan` or `foregroundDeletion` finalizer (and, for
  foreground, its dependents);
- on a deletion: the object's dependents (their owner may now be gone) and any of its
  owners that wait in foreground deletion (one blocker fewer).

`sync(uid)`, level-driven, for the object with that uid:
1. being deleted with `orphan` → remove our ownerReference from every dependent, then
   drop the `orphan` finalizer (the apiserver then deletes the owner);
2. being deleted with `foregroundDeletion` → while dependents with blockOwnerDeletion
   remain, make sure each is being deleted; when none remain, drop the finalizer;
3. otherwise classify each owner (`_owner_state`): *absent* (404 or another uid on a
   live GET), *waiting* (being deleted in the foreground), or *solid*:
   - any solid owner → the object stays; references to absent/waiting owners are removed;
   - else delete the object: in the foreground when an owner waits in the foreground and
     the object has dependents of its own, otherwise following the object's own
     finalizers (orphan → Orphan, foregroundDeletion → Foreground, else Background).

Background deletion of a Deployment therefore goes: Deployment gone → its ReplicaSets'
owner is absent → ReplicaSets deleted → their pods' owner absent → pods deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from litekube.api.resources import RESOURCE_TYPES, ResourceType, by_kind
from litekube.client.base import JSON, ApiError, Client
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory, SharedInformer
from litekube.machinery.owners import owner_references

log = logging.getLogger(__name__)

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"

# Everything that can own or be owned; Events and Namespaces are neither in practice.
DEFAULT_RESOURCES: tuple[ResourceType, ...] = tuple(
    rt for rt in RESOURCE_TYPES if rt.kind not in ("Event", "Namespace") and "list" in rt.verbs
)


def _finalizers(obj: JSON) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def _deleting(obj: JSON) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


class GarbageCollector(Controller):
    name = "garbage-collector-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        resources: Sequence[ResourceType] = DEFAULT_RESOURCES,
        workers: int = 20,
    ) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.watched: dict[ResourceType, SharedInformer] = {}
        for rt in resources:
            inf = informers.informer(rt)
            self.watched[rt] = inf
            inf.add_handlers(self._added, self._updated, self._deleted)

    # --- handlers --------------------------------------------------------------------------
    # Like upstream's graph builder, only what can change a verdict enqueues: a new object
    # whose owner is not known (or already going), a change of ownerReferences, the start of
    # a deletion, a deletion. A status write on one of 10,000 pods enqueues nothing.

    def _added(self, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        if not meta.get("uid"):
            return
        for ref in owner_references(obj):
            owner = self._cached(ref.get("uid", ""))
            if owner is None or _deleting(owner[1]):
                self.queue.add(meta["uid"])
                break
        self._transitions(obj, None)

    def _updated(self, old: JSON, new: JSON) -> None:
        meta = new.get("metadata") or {}
        if not meta.get("uid"):
            return
        old_meta = old.get("metadata") or {}
        if meta.get("ownerReferences") != old_meta.get("ownerReferences"):
            if meta.get("ownerReferences"):
                self.queue.add(meta["uid"])
            # an owner waiting in the foreground may have lost a blocking dependent
            self._enqueue_waiting_owners(old)
            self._enqueue_waiting_owners(new)
        elif _deleting(new) and not _deleting(old):
            self._enqueue_waiting_owners(new)
        self._transitions(new, old)

    def _transitions(self, obj: JSON, old: JSON | None) -> None:
        """An object being deleted with orphan/foreground waits on us; so may its dependents."""
        if not _deleting(obj):
            return
        finalizers = _finalizers(obj)
        if ORPHAN not in finalizers and FOREGROUND not in finalizers:
            return
        if old is not None and _deleting(old) and _finalizers(old) == finalizers:
            return  # no transition: a status write on an object we already handled
        self.queue.add(obj["metadata"]["uid"])
        if FOREGROUND in finalizers:
            for dependent in self.dependents(obj):
                self.queue.add(dependent["metadata"]["uid"])

    def _deleted(self, obj: JSON) -> None:
        for dependent in self.dependents(obj):
            self.queue.add(dependent["metadata"]["uid"])
        self._enqueue_waiting_owners(obj)

    def _enqueue_waiting_owners(self, obj: JSON) -> None:
        """Owners deleting in the foreground re-check when a dependent changes or goes."""
        for ref in owner_references(obj):
            owner = self._cached(ref.get("uid", ""))
            if owner is not None and _deleting(owner[1]):
                self.queue.add(ref["uid"])

    # --- lookups ---------------------------------------------------------------------------

    def _cached(self, uid: str) -> tuple[ResourceType, JSON] | None:
        for rt, inf in self.watched.items():
            obj = inf.store.get_by_uid(uid)
            if obj is not None:
                return rt, obj
        return None

    def dependents(self, owner: JSON) -> list[JSON]:
        """Objects in the owner's namespace (any, for a cluster-scoped owner) that reference it."""
        meta = owner.get("metadata") or {}
        namespace = meta.get("namespace")
        found: list[JSON] = []
        for inf in self.watched.values():
            for obj in inf.store.by_owner(meta.get("uid", "")):
                if namespace and (obj.get("metadata") or {}).get("namespace") != namespace:
                    continue
                found.append(obj)
        return found

    async def _owner_state(self, dependent: JSON, ref: JSON) -> str:
        """ "absent", "waiting" (foreground deletion in progress) or "solid"."""
        rt = by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rt is None:
            return "solid"  # a kind we do not serve: never delete on a guess
        namespace = (dependent.get("metadata") or {}).get("namespace")
        if rt.namespaced and not namespace:
            return "absent"  # a cluster-scoped object cannot have a namespaced owner
        cached = self._cached(ref.get("uid", ""))
        if cached is not None:
            owner = cached[1]
        else:
            try:
                owner = await self.client.get(rt, ref.get("name", ""), namespace if rt.namespaced else None)
            except ApiError as e:
                if e.not_found:
                    return "absent"
                raise
            if (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
                return "absent"
        if _deleting(owner) and FOREGROUND in _finalizers(owner):
            return "waiting"
        return "solid"

    # --- sync --------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        found = self._cached(key)
        if found is None:
            return
        rt, obj = found
        finalizers = _finalizers(obj)
        if _deleting(obj):
            if ORPHAN in finalizers:
                await self._orphan_dependents(rt, obj)
            elif FOREGROUND in finalizers:
                await self._process_foreground(rt, obj)
            return
        if owner_references(obj):
            await self._attempt_to_delete(rt, obj)

    async def _attempt_to_delete(self, rt: ResourceType, obj: JSON) -> None:
        states = {ref.get("uid", ""): await self._owner_state(obj, ref) for ref in owner_references(obj)}
        solid = [uid for uid, s in states.items() if s == "solid"]
        gone = [uid for uid, s in states.items() if s != "solid"]
        meta = obj["metadata"]
        if solid:
            if gone:
                refs = [r for r in owner_references(obj) if r.get("uid") not in gone]
                await self._patch_refs(rt, obj, refs)
            return
        if "waiting" in states.values() and self.dependents(obj):
            policy = "Foreground"
        elif ORPHAN in _finalizers(obj):
            policy = "Orphan"
        elif FOREGROUND in _finalizers(obj):
            policy = "Foreground"
        else:
            policy = "Background"
        log.debug(
            "deleting %s %s/%s (owners gone), propagation %s",
            rt.kind,
            meta.get("namespace"),
            meta["name"],
            policy,
        )
        try:
            await self.client.delete(
                rt,
                meta["name"],
                meta.get("namespace"),
                propagation_policy=policy,
                preconditions={"uid": meta["uid"]},
            )
        except ApiError as e:
            if not e.not_found:
                raise

    async def _orphan_dependents(self, rt: ResourceType, owner: JSON) -> None:
        owner_uid = owner["metadata"]["uid"]
        for dep in self.dependents(owner):
            dep_rt = self._cached(dep["metadata"]["uid"])
            if dep_rt is None:
                continue
            refs = [r for r in owner_references(dep) if r.get("uid") != owner_uid]
            await self._patch_refs(dep_rt[0], dep, refs)
        await self._remove_finalizer(rt, owner, ORPHAN)

    async def _process_foreground(self, rt: ResourceType, owner: JSON) -> None:
        owner_uid = owner["metadata"]["uid"]
        blocking = [
            dep
            for dep in self.dependents(owner)
            if any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion") for r in owner_references(dep))
        ]
        if not blocking:
            await self._remove_finalizer(rt, owner, FOREGROUND)
            return
        for dep in self.dependents(owner):
            if not _deleting(dep):
                self.queue.add(dep["metadata"]["uid"])

    async def _patch_refs(self, rt: ResourceType, obj: JSON, refs: list[JSON]) -> None:
        meta = obj["metadata"]
        patch = {
            "metadata": {
                "ownerReferences": refs or None,
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
            }
        }
        try:
            await self.client.patch(rt, meta["name"], patch, meta.get("namespace"))
        except ApiError as e:
            if not e.not_found:
                raise

    async def _remove_finalizer(self, rt: ResourceType, obj: JSON, finalizer: str) -> None:
        meta = obj["metadata"]
        remaining = [f for f in _finalizers(obj) if f != finalizer]
        patch = {"metadata": {"finalizers": remaining or None, "resourceVersion": meta["resourceVersion"]}}
        try:
            await self.client.patch(rt, meta["name"], patch, meta.get("namespace"))
        except ApiError as e:
            if not e.not_found:
                raise
