"""ControllerRevisions: immutable snapshots of a workload's pod template, numbered 1, 2, 3…

A DaemonSet or StatefulSet keeps one ControllerRevision per distinct template it has had.
`kubectl rollout history ds/x` lists them by `.revision`, and `kubectl rollout undo` sends
the chosen revision's `data` back as a strategic merge patch — which is why `data` holds
`{"spec": {"template": {..., "$patch": "replace"}}}` (upstream's getPatch shape).

Flow used by both controllers on every sync:
1. `template_patch(owner)` → the data the current spec would snapshot;
2. look for an existing revision with equal data (`data_equal`) among the owner's ones;
   if one exists but is not the newest (a rollback to an older template), it is renumbered
   to `max_revision + 1` by the caller;
3. otherwise `new_revision(...)` named `<owner>-<hash>` and `create_revision(...)`. The
   hash covers the data and the owner's `status.collisionCount`; when a revision of that
   name already exists with different data, `RevisionCollision` tells the caller to bump
   `collisionCount` and try again (a new hash, a new name);
4. `truncate_history` deletes the oldest revisions beyond `revisionHistoryLimit` that no
   live pod still uses.
"""

from __future__ import annotations

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.deployment.util import compute_hash
from litekube.machinery.owners import new_controller_ref

_CR = lookup("apps", "v1", "controllerrevisions")
assert _CR is not None
CONTROLLER_REVISIONS: ResourceType = _CR

HASH_LABEL = "controller.kubernetes.io/hash"
MAX_PREFIX = 223  # upstream: name prefix truncated so "<prefix>-<hash>" stays a valid name


class RevisionCollision(Exception):
    """A revision with our name exists but holds other data: bump collisionCount."""


def template_patch(owner: JSON) -> JSON:
    """The revision data for the owner's current template (what `rollout undo` patches back)."""
    template = deep_copy((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_template(revision: JSON) -> JSON:
    """The pod template stored in a revision, without the patch directive."""
    template = deep_copy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def revision_hash(data: JSON, collision_count: int | None) -> str:
    return compute_hash(data, collision_count)


def revision_name(parent_name: str, hash_: str) -> str:
    return f"{parent_name[:MAX_PREFIX]}-{hash_}"


def data_equal(revision: JSON, data: JSON) -> bool:
    return json_equal(revision.get("data") or {}, data)


def new_revision(
    owner: JSON,
    owner_rt: ResourceType,
    name: str,
    labels: dict[str, str],
    data: JSON,
    number: int,
) -> JSON:
    meta = owner["metadata"]
    body: JSON = {
        "apiVersion": CONTROLLER_REVISIONS.api_version,
        "kind": CONTROLLER_REVISIONS.kind,
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": labels,
            "ownerReferences": [new_controller_ref(owner, owner_rt)],
        },
        "data": data,
        "revision": number,
    }
    if meta.get("annotations"):
        body["metadata"]["annotations"] = deep_copy(meta["annotations"])
    return body


async def create_revision(client: Client, revision: JSON) -> JSON:
    """Create it; an existing one of that name with the same data is ours already (a cache
    that has not caught up), one with other data is a hash collision."""
    meta = revision["metadata"]
    try:
        created: JSON = await client.create(CONTROLLER_REVISIONS, revision, meta.get("namespace"))
        return created
    except ApiError as e:
        if e.code != 409:
            raise
    existing = await client.get(CONTROLLER_REVISIONS, meta["name"], meta.get("namespace"))
    if data_equal(existing, revision["data"]):
        return existing
    raise RevisionCollision(meta["name"])


def max_revision(revisions: list[JSON]) -> int:
    return max((int(r.get("revision") or 0) for r in revisions), default=0)


def sorted_revisions(revisions: list[JSON]) -> list[JSON]:
    """Oldest first (by revision number, then name for a stable order)."""
    return sorted(revisions, key=lambda r: (int(r.get("revision") or 0), r["metadata"]["name"]))


async def renumber(client: Client, revision: JSON, number: int) -> JSON:
    meta = revision["metadata"]
    updated: JSON = await client.patch(
        CONTROLLER_REVISIONS, meta["name"], {"revision": number}, meta.get("namespace")
    )
    return updated


async def truncate_history(client: Client, revisions: list[JSON], keep: set[str], limit: int) -> list[str]:
    """Delete the oldest revisions past `limit`, never one named in `keep` (the current and
    update revisions, and those live pods still run); returns the deleted names.

    Example: 14 revisions, limit 10, 1 of them live → 13 candidates, 3 oldest deleted.
    """
    candidates = [r for r in sorted_revisions(revisions) if r["metadata"]["name"] not in keep]
    excess = len(candidates) - limit
    deleted: list[str] = []
    for revision in candidates[: max(excess, 0)]:
        meta = revision["metadata"]
        try:
            await client.delete(CONTROLLER_REVISIONS, meta["name"], meta.get("namespace"))
        except ApiError as e:
            if not e.not_found:
                raise
        deleted.append(meta["name"])
    return deleted
