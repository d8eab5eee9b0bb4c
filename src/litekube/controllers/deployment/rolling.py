"""RollingUpdate: grow the new ReplicaSet within maxSurge, shrink old ones within maxUnavailable.

One step per sync, then the status write; the RS and pod informers bring the next sync:
1. scale the new RS up to what `util.new_rs_new_replicas` allows (total ≤ replicas + maxSurge);
2. otherwise scale old RSes down: first the replicas of old RSes that are not available
   (they count for nothing), then available ones while available pods stay ≥ replicas -
   maxUnavailable — but not while an old RS's status counts more available pods than its
   spec.replicas (the status predates our last scale-down; wait for the next one);
3. when complete, delete history beyond revisionHistoryLimit.

Worked example, replicas 3, 25%/25% → maxSurge 1, maxUnavailable 0: new RS 0→1 (4 pods);
once it is available, old 3→2; new 1→2; old 2→1; new 2→3; old 1→0 — never fewer than 3
available nor more than 4 pods.
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


async def rollout_rolling(ctx: DeploymentContext, d: JSON, rs_list: list[JSON]) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(ctx, d, rs_list, True)
    assert new_rs is not None
    all_rss = [*old_rss, new_rs]
    if await reconcile_new_replica_set(ctx, all_rss, new_rs, d):
        await sync_rollout_status(ctx, all_rss, new_rs, d)
        return
    if await reconcile_old_replica_sets(ctx, all_rss, util.active(list(old_rss)), new_rs, d):
        await sync_rollout_status(ctx, all_rss, new_rs, d)
        return
    if util.deployment_complete(d, d.get("status") or {}):
        await cleanup_deployment(ctx, old_rss, d)
    await sync_rollout_status(ctx, all_rss, new_rs, d)


async def reconcile_new_replica_set(
    ctx: DeploymentContext, all_rss: list[JSON], new_rs: JSON, d: JSON
) -> bool:
    wanted = util.replicas_of(d)
    if util.replicas_of(new_rs) == wanted:
        return False
    if util.replicas_of(new_rs) > wanted:
        scaled, _ = await scale_replica_set_and_record_event(ctx, new_rs, wanted, d)
        return scaled
    target = util.new_rs_new_replicas(d, all_rss, new_rs)
    scaled, _ = await scale_replica_set_and_record_event(ctx, new_rs, target, d)
    return scaled


async def reconcile_old_replica_sets(
    ctx: DeploymentContext, all_rss: list[JSON], old_rss: list[JSON], new_rs: JSON, d: JSON
) -> bool:
    if util.spec_replicas(old_rss) == 0:
        return False
    if any(util.status_int(rs, "availableReplicas") > util.replicas_of(rs) for rs in old_rss):
        # The RS status predates our last scale-down (its controller has not caught up):
        # counting those pods as available would scale below minAvailable, and "replicas -
        # available" would go negative and scale the RS back *up* past maxSurge. Upstream
        # fails the sync here; its status write will enqueue the deployment again.
        return False
    budget = util.max_scaled_down(d, all_rss, new_rs)
    if budget <= 0:
        return False
    old_rss, cleaned = await cleanup_unhealthy_replicas(ctx, old_rss, d, budget)
    scaled_down = await scale_down_old_replica_sets(ctx, [*old_rss, new_rs], old_rss, d)
    return cleaned + scaled_down > 0


async def cleanup_unhealthy_replicas(
    ctx: DeploymentContext, old_rss: list[JSON], d: JSON, budget: int
) -> tuple[list[JSON], int]:
    """Drop old replicas that are not available anyway (they would block the rollout).

    Example: budget 2, old RS with 5 replicas of which 4 available → scale it to 4.
    """
    result = util.by_creation(old_rss)
    total = 0
    for i, rs in enumerate(result):
        if total >= budget:
            break
        replicas, available = util.replicas_of(rs), util.status_int(rs, "availableReplicas")
        if replicas == 0 or replicas <= available:  # (stale status is caught by the caller)
            continue
        count = min(budget - total, replicas - available)
        _, result[i] = await scale_replica_set_and_record_event(ctx, rs, replicas - count, d)
        total += count
    return result, total


async def scale_down_old_replica_sets(
    ctx: DeploymentContext, all_rss: list[JSON], old_rss: list[JSON], d: JSON
) -> int:
    """Scale old RSes down, oldest first, while available pods stay ≥ replicas - maxUnavailable."""
    min_available = util.replicas_of(d) - util.max_unavailable(d)
    available = util.available_replicas(all_rss)
    if available <= min_available:
        return 0
    to_scale = available - min_available
    total = 0
    for rs in util.by_creation(old_rss):
        if total >= to_scale:
            break
        if util.replicas_of(rs) == 0:
            continue
        count = min(util.replicas_of(rs), to_scale - total)
        await scale_replica_set_and_record_event(ctx, rs, util.replicas_of(rs) - count, d)
        total += count
    return total
