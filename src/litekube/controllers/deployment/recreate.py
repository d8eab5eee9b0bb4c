"""Recreate: all old pods gone first, then the new ReplicaSet at full size.

1. scale every active old RS to 0 (status, done for this sync);
2. wait while any old pod is still not terminal (the pod informer wakes us as they go);
3. create the new RS if needed and scale it to spec.replicas; when complete, clean up.
"""

from __future__ import annotations

from litekube.client.base import JSON
from litekube.controllers.deployment import util
from litekube.controllers.deployment.progress import sync_rollout_status
from litekube.controllers.deployment.sync import (
    DeploymentContext,
    cleanup_deployment,
    get_all_replica_sets_and_sync_revision,
    scale_replica_set_and_record_event,
)


async def rollout_recreate(
    ctx: DeploymentContext, d: JSON, rs_list: list[JSON], pod_map: dict[str, list[JSON]]
) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(ctx, d, rs_list, False)
    all_rss = [*old_rss, *([new_rs] if new_rs else [])]
    scaled_down = False
    for rs in util.active(list(old_rss)):
        scaled, _ = await scale_replica_set_and_record_event(ctx, rs, 0, d)
        scaled_down = scaled_down or scaled
    if scaled_down or old_pods_running(new_rs, old_rss, pod_map):
        await sync_rollout_status(ctx, all_rss, new_rs, d)
        return
    if new_rs is None:
        new_rs, old_rss = await get_all_replica_sets_and_sync_revision(ctx, d, rs_list, True)
        assert new_rs is not None
        all_rss = [*old_rss, new_rs]
    await scale_replica_set_and_record_event(ctx, new_rs, util.replicas_of(d), d)
    if util.deployment_complete(d, d.get("status") or {}):
        await cleanup_deployment(ctx, old_rss, d)
    await sync_rollout_status(ctx, all_rss, new_rs, d)


def old_pods_running(new_rs: JSON | None, old_rss: list[JSON], pod_map: dict[str, list[JSON]]) -> bool:
    """Old RSes still report pods, or an old RS's pod is not Succeeded/Failed yet."""
    if util.actual_replicas(old_rss) > 0:
        return True
    new_uid = new_rs["metadata"]["uid"] if new_rs else None
    for rs_uid, pods in pod_map.items():
        if rs_uid == new_uid:
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                return True
    return False
