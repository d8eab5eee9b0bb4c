"""ownerReferences: who controls an object, and adopting or releasing objects by selector.

A controller owns the objects whose *controller* ownerReference (`controller: true`)
carries its uid. `claim()` applies upstream's ControllerRefManager rules to the objects a
controller could own (those in its namespace, from its informer cache):

- controlled by someone else → ignored;
- controlled by us and matching the selector → ours;
- controlled by us but no longer matching → released (our ownerReference removed),
  unless we are being deleted (then the garbage collector handles them);
- an orphan that matches, is not being deleted, while we are not being deleted → adopted
  (our controller reference added), after one fresh GET of the owner confirms it still
  exists with the same uid and no deletionTimestamp (`recheck_owner`), because a cache
  can show an owner that was just deleted and adopting for it would leak the object.

Adopt and release are JSON merge patches that replace the ownerReferences list and carry
metadata.uid and metadata.resourceVersion as preconditions, so a concurrent change to
the list fails with 409 and the controller retries from fresh state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from litekube.api.resources import ResourceType
from litekube.api.selectors import LabelSelector
from litekube.client.base import JSON, ApiError, Client


def owner_references(obj: JSON) -> list[JSON]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def controller_ref(obj: JSON) -> JSON | None:
    """The ownerReference with controller=true, if any (metav1.GetControllerOf)."""
    for ref in owner_references(obj):
        if ref.get("controller") is True:
            return ref
    return None


def is_controlled_by(obj: JSON, owner_uid: str) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == owner_uid


def new_controller_ref(owner: JSON, rt: ResourceType) -> JSON:
    """metav1.NewControllerRef: controller=true, blockOwnerDeletion=true."""
    meta = owner["metadata"]
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_being_deleted(obj: JSON) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


async def recheck_owner(client: Client, rt: ResourceType, owner: JSON) -> None:
    """Raise unless a fresh GET shows the owner alive with the same uid (RecheckDeletionTimestamp)."""
    meta = owner["metadata"]
    fresh = await client.get(rt, meta["name"], meta.get("namespace"))
    fresh_meta = fresh.get("metadata") or {}
    if fresh_meta.get("uid") != meta.get("uid"):
        raise OwnerGone(
            f"original {rt.kind} {meta.get('namespace')}/{meta['name']} is gone: got uid "
            f"{fresh_meta.get('uid')}, wanted {meta.get('uid')}"
        )
    if fresh_meta.get("deletionTimestamp"):
        raise OwnerGone(
            f"{meta.get('namespace')}/{meta['name']} has just been deleted at {fresh_meta['deletionTimestamp']}"
        )


class OwnerGone(Exception):
    pass


async def adopt(client: Client, child_rt: ResourceType, obj: JSON, ref: JSON) -> JSON:
    meta = obj["metadata"]
    refs = [r for r in owner_references(obj) if r.get("uid") != ref["uid"]] + [ref]
    patch = {
        "metadata": {"ownerReferences": refs, "uid": meta["uid"], "resourceVersion": meta["resourceVersion"]}
    }
    return await client.patch(child_rt, meta["name"], patch, meta.get("namespace"))


async def release(client: Client, child_rt: ResourceType, obj: JSON, owner_uid: str) -> JSON:
    meta = obj["metadata"]
    refs = [r for r in owner_references(obj) if r.get("uid") != owner_uid]
    patch = {
        "metadata": {
            "ownerReferences": refs or None,
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
        }
    }
    return await client.patch(child_rt, meta["name"], patch, meta.get("namespace"))


async def claim(
    client: Client,
    child_rt: ResourceType,
    owner: JSON,
    owner_rt: ResourceType,
    selector: LabelSelector,
    candidates: Iterable[JSON],
    can_adopt: Callable[[], Awaitable[None]] | None = None,
) -> list[JSON]:
    """The candidates this owner controls after adopting/releasing; raises the first error."""
    owner_meta = owner["metadata"]
    owner_uid = owner_meta["uid"]
    owner_deleting = is_being_deleted(owner)
    claimed: list[JSON] = []
    errors: list[Exception] = []
    adopt_checked = False
    for obj in candidates:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels")
        ref = controller_ref(obj)
        try:
            if ref is not None:
                if ref.get("uid") != owner_uid:
                    continue
                if selector.matches(labels):
                    claimed.append(obj)
                elif not owner_deleting:
                    await release(client, child_rt, obj, owner_uid)
                continue
            if owner_deleting or not selector.matches(labels) or is_being_deleted(obj):
                continue
            if owner_meta.get("namespace") and owner_meta["namespace"] != meta.get("namespace"):
                continue
            if not adopt_checked:
                if can_adopt is not None:
                    await can_adopt()
                adopt_checked = True
            claimed.append(await adopt(client, child_rt, obj, new_controller_ref(owner, owner_rt)))
        except ApiError as e:
            if not e.not_found:
                errors.append(e)
        except OwnerGone as e:
            errors.append(e)
            break
    if errors:
        raise errors[0]
    return claimed
