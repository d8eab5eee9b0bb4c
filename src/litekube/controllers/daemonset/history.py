"""DaemonSet history: the ControllerRevision of the current template, and trimming old ones.

A DaemonSet's revision is named `<ds>-<hash>` where the hash covers the pod template and
`status.collisionCount`, and it carries the label `controller-revision-hash: <hash>`, the
label its pods get too (upstream `constructHistory` / `snapshot`). A revision whose data
equals the current template is reused — after `kubectl rollout undo` that is an old one,
which is renumbered to the newest revision number, as upstream does.
"""

from __future__ import annotations

from litekube.api.patch import deep_copy
from litekube.api.resources import lookup
from litekube.client.base import JSON, Client
from litekube.controllers.daemonset.rolling import REVISION_LABEL
from litekube.controllers.deployment.util import compute_hash
from litekube.controllers.history import (
    CONTROLLER_REVISIONS,
    RevisionCollision,
    create_revision,
    data_equal,
    max_revision,
    new_revision,
    renumber,
    revision_name,
    template_patch,
    truncate_history,
)
from litekube.machinery.informer import InformerFactory

_DS = lookup("apps", "v1", "daemonsets")
assert _DS is not None
DEFAULT_HISTORY_LIMIT = 10


class DaemonSetHistory:
    def __init__(self, client: Client, informers: InformerFactory) -> None:
        self.client = client
        self.revisions = informers.informer(CONTROLLER_REVISIONS)

    def owned(self, ds: JSON) -> list[JSON]:
        return [
            r
            for r in self.revisions.store.by_owner(ds["metadata"]["uid"])
            if r["metadata"].get("namespace") == ds["metadata"].get("namespace")
        ]

    async def current(self, ds: JSON) -> tuple[str, list[JSON]]:
        """(hash of the current revision, the DaemonSet's revisions) — creating it if needed."""
        assert _DS is not None
        revisions = self.owned(ds)
        status = ds.get("status") or {}
        collision = status.get("collisionCount")
        template = (ds.get("spec") or {}).get("template") or {}
        hash_ = compute_hash(template, collision)
        data = template_patch(ds)
        # matched by data, not by hash label: a hash collision must not pass for a match
        matching = [r for r in revisions if data_equal(r, data)]
        newest = max_revision(revisions)
        if matching:
            current = max(matching, key=lambda r: int(r.get("revision") or 0))
            if int(current.get("revision") or 0) < newest:
                current = await renumber(self.client, current, newest + 1)
            return str((current["metadata"].get("labels") or {}).get(REVISION_LABEL) or hash_), revisions
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels[REVISION_LABEL] = hash_
        body = new_revision(ds, _DS, revision_name(ds["metadata"]["name"], hash_), labels, data, newest + 1)
        try:
            created = await create_revision(self.client, body)
        except RevisionCollision:
            # Another template already owns this name: a new collisionCount gives a new hash.
            updated = deep_copy(ds)
            updated.setdefault("status", {})["collisionCount"] = int(collision or 0) + 1
            await self.client.update_status(_DS, updated)
            raise
        return hash_, [*revisions, created]

    async def cleanup(self, ds: JSON, revisions: list[JSON], pods: list[JSON], hash_: str) -> None:
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit")
        limit = DEFAULT_HISTORY_LIMIT if limit is None else int(limit)
        if len(revisions) <= limit + 1:
            return
        live = {((p.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL) for p in pods}
        live.add(hash_)
        keep = {
            r["metadata"]["name"]
            for r in revisions
            if (r["metadata"].get("labels") or {}).get(REVISION_LABEL) in live
        }
        await truncate_history(self.client, revisions, keep, limit)
