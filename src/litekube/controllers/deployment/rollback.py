"""Rollbacks.

`kubectl rollout undo` (apps/v1) does not ask the controller: it copies the chosen old
ReplicaSet's template into the Deployment. The controller then finds that RS again by
template equality (`util.find_new_rs`) and `util.set_new_rs_annotations` gives it the next
revision while remembering the old number in `deployment.kubernetes.io/revision-history`
— e.g. revisions 1 and 2, undo → the revision-1 RS becomes revision 3, history "1".

This module handles the older request form, the `deprecated.deployment.rollback.to`
annotation (extensions/v1beta1's DeploymentRollback): copy the template of the RS with
that revision (0 = the previous one) into the deployment and remove the annotation.
"""

from __future__ import annotations

from litekube.api.patch import deep_copy
from litekube.client.base import JSON
from litekube.controllers.deployment import util
from litekube.controllers.deployment.sync import DeploymentContext, get_all_replica_sets_and_sync_revision
from litekube.controllers.resources import DEPLOYMENTS
from litekube.machinery.events import NORMAL, WARNING


def rollback_to(d: JSON) -> int | None:
    text = util.annotations_of(d).get(util.ROLLBACK_TO)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return 0


async def rollback(ctx: DeploymentContext, d: JSON, rs_list: list[JSON]) -> None:
    target = rollback_to(d) or 0
    new_rs, all_old = await get_all_replica_sets_and_sync_revision(ctx, d, rs_list, True)
    all_rss = [*all_old, *([new_rs] if new_rs else [])]
    if target == 0:
        revisions = sorted({util.revision_of(rs) for rs in all_rss}, reverse=True)
        if len(revisions) < 2:
            await ctx.recorder.event(
                d, WARNING, "DeploymentRollbackRevisionNotFound", "Unable to find last revision."
            )
            await _finish(ctx, d, None)
            return
        target = revisions[1]
    for rs in all_rss:
        if util.revision_of(rs) == target:
            if util.equal_ignore_hash(
                (rs.get("spec") or {}).get("template"), (d.get("spec") or {}).get("template")
            ):
                message = f"The rollback revision contains the same template as current deployment {d['metadata']['name']!r}"
                await ctx.recorder.event(d, NORMAL, "DeploymentRollbackTemplateUnchanged", message)
                await _finish(ctx, d, None)
                return
            template = deep_copy((rs.get("spec") or {}).get("template") or {})
            template.get("metadata", {}).get("labels", {}).pop(util.POD_TEMPLATE_HASH, None)
            await ctx.recorder.event(
                d,
                NORMAL,
                "DeploymentRollback",
                f"Rolled back deployment {d['metadata']['name']!r} to revision {target}",
            )
            await _finish(ctx, d, template)
            return
    await ctx.recorder.event(
        d, WARNING, "DeploymentRollbackRevisionNotFound", "Unable to find the revision to rollback to."
    )
    await _finish(ctx, d, None)


async def _finish(ctx: DeploymentContext, d: JSON, template: JSON | None) -> None:
    """Remove the rollback annotation and, if we found one, set the template, in one JSON patch."""
    key = util.ROLLBACK_TO.replace("~", "~0").replace("/", "~1")
    ops: list[JSON] = [{"op": "remove", "path": f"/metadata/annotations/{key}"}]
    if template is not None:
        ops.append({"op": "replace", "path": "/spec/template", "value": template})
    meta = d["metadata"]
    result = await ctx.client.patch(
        DEPLOYMENTS, meta["name"], ops, meta["namespace"], patch_type="application/json-patch+json"
    )
    meta["resourceVersion"] = result["metadata"]["resourceVersion"]
