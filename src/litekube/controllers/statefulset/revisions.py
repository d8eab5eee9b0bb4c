"""StatefulSet revisions: the current revision (what most pods run) and the update revision
(what the spec says now), upstream `getStatefulSetRevisions`.

The update revision is the ControllerRevision whose data equals the current template:
- the newest existing one → nothing to do;
- an older one (a `kubectl rollout undo`) → renumbered to newest + 1;
- none → created as `<set>-<hash>` (hash of the data and collisionCount), labelled
  `controller.kubernetes.io/hash`, numbered newest + 1.
The current revision is the one named by `status.currentRevision`, or the update revision
when the set is new. Old revisions beyond `revisionHistoryLimit` that no pod uses are trimmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from litekube.api.patch import deep_copy
from litekube.api.resources import ResourceType
from litekube.client.base import JSON, Client
from litekube.controllers.history import (
    CONTROLLER_REVISIONS,
    HASH_LABEL,
    RevisionCollision,
    create_revision,
    data_equal,
    max_revision,
    new_revision,
    renumber,
    revision_hash,
    revision_name,
    sorted_revisions,
    template_patch,
    truncate_history,
)
from litekube.machinery.informer import InformerFactory

DEFAULT_HISTORY_LIMIT = 10


@dataclass
class Revisions:
    current: JSON
    update: JSON
    all: list[JSON]


class StatefulSetHistory:
    def __init__(self, client: Client, informers: InformerFactory, owner_rt: ResourceType) -> None:
        self.client = client
        self.owner_rt = owner_rt
        self.revisions = informers.informer(CONTROLLER_REVISIONS)

    def owned(self, sts: JSON) -> list[JSON]:
        namespace = sts["metadata"].get("namespace")
        return sorted_revisions(
            [
                r
                for r in self.revisions.store.by_owner(sts["metadata"]["uid"])
                if r["metadata"].get("namespace") == namespace
            ]
        )

    async def revisions_of(self, sts: JSON) -> Revisions:
        revisions = self.owned(sts)
        status = sts.get("status") or {}
        collision = status.get("collisionCount")
        data = template_patch(sts)
        equal = [r for r in revisions if data_equal(r, data)]
        newest = max_revision(revisions)
        if equal and equal[-1] is revisions[-1]:
            update = equal[-1]
        elif equal:
            update = await renumber(self.client, equal[-1], newest + 1)
            revisions = [update if r is equal[-1] else r for r in revisions]
        else:
            hash_ = revision_hash(data, collision)
            labels = dict(
                (((sts.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
            )
            labels[HASH_LABEL] = hash_
            body = new_revision(
                sts, self.owner_rt, revision_name(sts["metadata"]["name"], hash_), labels, data, newest + 1
            )
            try:
                update = await create_revision(self.client, body)
            except RevisionCollision:
                bumped = deep_copy(sts)
                bumped.setdefault("status", {})["collisionCount"] = int(collision or 0) + 1
                await self.client.update_status(self.owner_rt, bumped)
                raise
            revisions = [*revisions, update]
        current_name = status.get("currentRevision")
        current = next((r for r in revisions if r["metadata"]["name"] == current_name), update)
        return Revisions(current=current, update=update, all=revisions)

    async def cleanup(self, sts: JSON, revisions: Revisions, live: set[str]) -> None:
        limit = (sts.get("spec") or {}).get("revisionHistoryLimit")
        limit = DEFAULT_HISTORY_LIMIT if limit is None else int(limit)
        keep = {revisions.current["metadata"]["name"], revisions.update["metadata"]["name"], *live}
        await truncate_history(self.client, revisions.all, keep, limit)


__all__ = ["CONTROLLER_REVISIONS", "Revisions", "StatefulSetHistory"]
