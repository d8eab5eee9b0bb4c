"""DELETE: preconditions, propagation policies, finalizers and graceful deletion.

    read ─▶ preconditions uid / resourceVersion (409) ─▶ propagationPolicy adds the
        `foregroundDeletion` or `orphan` finalizer (the garbage collector does the rest)
        ─▶ namespace: mark Terminating, kept while spec.finalizers remain
        ─▶ finalizers or a grace period: set deletionTimestamp, keep the object (200, or 202
           while a graceful deletion is already pending)
        ─▶ otherwise remove it from storage (a conflicting write retries from the read)

An object marked for deletion goes away when an update removes its last finalizer
(`delete_finalized`, called from Registry.write_update).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from litekube.api.resources import ResourceType
from litekube.apiserver import errors
from litekube.apiserver.objects import JSON, decode_from_storage, now_rfc3339
from litekube.apiserver.registry_types import NAMESPACES, ListOptions, WriteResult
from litekube.storage.types import ConflictError, KeyNotFoundError

if TYPE_CHECKING:
    from litekube.apiserver.registry import Registry


async def delete(
    registry: Registry,
    rt: ResourceType,
    namespace: str | None,
    name: str,
    options: JSON,
    dry_run: bool = False,
) -> tuple[int, JSON]:
    key = rt.storage_key(namespace, name)
    for _ in range(10):
        kv = await registry.storage.get(key)
        if kv is None:
            raise errors.not_found(rt, name)
        obj = decode_from_storage(kv.value, kv.mod_revision)
        m = obj["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != m.get("uid"):
            raise errors.conflict(
                rt,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {m.get('uid')}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != m.get("resourceVersion"):
            raise errors.conflict(
                rt,
                name,
                f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {m.get('resourceVersion')}",
            )
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        finalizers = list(m.get("finalizers") or [])
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        graceful = grace_period(rt, obj, options)
        if rt is NAMESPACES:
            if not m.get("deletionTimestamp"):
                m["deletionTimestamp"] = now_rfc3339()
                m["deletionGracePeriodSeconds"] = 0
                obj["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}
            if (obj.get("spec") or {}).get("finalizers") or finalizers:
                m["finalizers"] = finalizers
                if not m["finalizers"]:
                    m.pop("finalizers")
                return 200, await _store_deleting(registry, rt, key, obj, kv.mod_revision, dry_run)
        elif finalizers or graceful:
            if m.get("deletionTimestamp"):
                if finalizers != list(m.get("finalizers") or []):
                    m["finalizers"] = finalizers
                    return 200, await _store_deleting(registry, rt, key, obj, kv.mod_revision, dry_run)
                # Upstream answers 202 Accepted while a graceful deletion is pending.
                return 200 if finalizers else 202, registry.present(rt, obj)
            m["deletionTimestamp"] = now_rfc3339() if not graceful else _rfc3339_in(graceful)
            m["deletionGracePeriodSeconds"] = graceful
            if finalizers:
                m["finalizers"] = finalizers
            return 200, await _store_deleting(registry, rt, key, obj, kv.mod_revision, dry_run)
        if dry_run:
            return 200, registry.present(rt, obj)
        try:
            rev, _ = await registry.storage.delete(key, kv.mod_revision)
        except ConflictError:
            continue
        except KeyNotFoundError:
            raise errors.not_found(rt, name) from None
        registry.after_delete(rt, obj)
        m["resourceVersion"] = str(rev)
        return 200, registry.present(rt, obj)
    raise errors.conflict(rt, name)


async def _store_deleting(
    registry: Registry, rt: ResourceType, key: str, obj: JSON, rev: int, dry_run: bool
) -> JSON:
    if dry_run:
        return registry.present(rt, obj)
    try:
        new_rev = await registry.storage.update(key, registry.encode(rt, obj), rev)
    except ConflictError:
        raise errors.conflict(rt, obj["metadata"]["name"]) from None
    obj["metadata"]["resourceVersion"] = str(new_rev)
    if rt is NAMESPACES:
        registry.note_namespace_phase(obj["metadata"]["name"], "Terminating")
    return registry.present(rt, obj)


def grace_period(rt: ResourceType, obj: JSON, options: JSON) -> int:
    """Seconds of graceful deletion: only pods bound to a node that is running them get one."""
    if rt.kind != "Pod" or rt.group:
        return 0
    spec = obj.get("spec") or {}
    phase = (obj.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    grace = options.get("gracePeriodSeconds")
    if grace is None:
        grace = spec.get("terminationGracePeriodSeconds", 30)
    grace = int(grace)
    if obj["metadata"].get("deletionGracePeriodSeconds") is not None:
        grace = min(grace, int(obj["metadata"]["deletionGracePeriodSeconds"]))
    return max(grace, 0)


def finalized(rt: ResourceType, obj: JSON) -> bool:
    """Whether an object whose metadata.finalizers are gone may leave storage (namespaces
    also wait for spec.finalizers)."""
    if rt is NAMESPACES:
        return not (obj.get("spec") or {}).get("finalizers")
    return True


async def delete_finalized(
    registry: Registry, rt: ResourceType, key: str, name: str, new: JSON, old_rev: int
) -> WriteResult:
    """Remove an object marked for deletion whose last finalizer an update just removed."""
    try:
        rev, _ = await registry.storage.delete(key, old_rev)
    except ConflictError:
        raise errors.conflict(rt, name) from None
    except KeyNotFoundError:
        raise errors.not_found(rt, name) from None
    registry.after_delete(rt, new)
    new["metadata"]["resourceVersion"] = str(rev)
    return WriteResult(registry.present(rt, new))


async def delete_collection(
    registry: Registry,
    rt: ResourceType,
    namespace: str | None,
    opts: ListOptions,
    options: JSON,
    dry_run: bool,
) -> JSON:
    listed = await registry.list_objects(rt, namespace, opts)
    for item in listed["items"]:
        try:
            await delete(
                registry, rt, item["metadata"].get("namespace"), item["metadata"]["name"], options, dry_run
            )
        except errors.ApiException as e:
            if e.code != 404:
                raise
    return listed


def _rfc3339_in(seconds: int) -> str:
    t = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
