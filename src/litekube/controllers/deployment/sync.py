"""Steps shared by every strategy: find/create the new ReplicaSet, scale, clean up, status.

`DeploymentContext` carries what a sync needs (client, recorder, clock, requeue hooks).
All functions take `d`, a private working copy of the Deployment: they update its status
and annotations in place and keep its resourceVersion current after each write, so later
writes in the same sync do not conflict with earlier ones.

- `get_all_replica_sets_and_sync_revision` → (new RS or None, old RSes); creates the new
  RS `<deployment>-<pod-template-hash>` when asked, and gives an existing one (a rollback
  to an old template) the next revision.
- `scale` → a scaling event (spec.replicas changed) spread proportionally over the active
  RSes during a rollout; `sync_scale` is scaling + cleanup + status for paused deployments.
- `cleanup_deployment` → delete old, empty RSes beyond revisionHistoryLimit.
- `calculate_status` / `sync_deployment_status` → the counters and Available condition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from litekube.api.patch import deep_copy, json_equal
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.deployment import util
from litekube.controllers.resources import DEPLOYMENTS, REPLICA_SETS
from litekube.machinery.clock import Clock
from litekube.machinery.events import NORMAL, EventRecorder
from litekube.machinery.owners import is_controlled_by, new_controller_ref


@dataclass
class DeploymentContext:
    client: Client
    recorder: EventRecorder
    clock: Clock
    get_rs: Callable[[str, str], JSON | None]  # (namespace, name) → cached ReplicaSet
    requeue_after: Callable[[JSON, float], None]
    requeue_rate_limited: Callable[[JSON], None]


# --- writes that keep `d` current ------------------------------------------------------


async def update_status(ctx: DeploymentContext, d: JSON) -> None:
    result = await ctx.client.update_status(DEPLOYMENTS, d)
    d["metadata"]["resourceVersion"] = result["metadata"]["resourceVersion"]


async def set_revision(ctx: DeploymentContext, d: JSON, revision: str) -> bool:
    """Copy the new RS's revision to the deployment (what `rollout history` and `status --revision` read)."""
    if util.annotations_of(d).get(util.REVISION) == revision:
        return False
    d["metadata"].setdefault("annotations", {})[util.REVISION] = revision
    patch = {"metadata": {"annotations": {util.REVISION: revision}}}
    result = await ctx.client.patch(DEPLOYMENTS, d["metadata"]["name"], patch, d["metadata"]["namespace"])
    d["metadata"]["resourceVersion"] = result["metadata"]["resourceVersion"]
    return True


# --- the new ReplicaSet ------------------------------------------------------------------


async def get_all_replica_sets_and_sync_revision(
    ctx: DeploymentContext, d: JSON, rs_list: list[JSON], create_if_missing: bool
) -> tuple[JSON | None, list[JSON]]:
    new_rs = util.find_new_rs(d, rs_list)
    old_rss = util.find_old_rss(d, rs_list, new_rs)
    new_rs = await get_new_replica_set(ctx, d, rs_list, old_rss, create_if_missing)
    return new_rs, old_rss


async def get_new_replica_set(
    ctx: DeploymentContext, d: JSON, rs_list: list[JSON], old_rss: list[JSON], create_if_missing: bool
) -> JSON | None:
    existing = util.find_new_rs(d, rs_list)
    new_revision = max((util.revision_of(rs) for rs in old_rss), default=0) + 1
    meta = d["metadata"]
    if existing is not None:
        rs = deep_copy(existing)
        annotations_changed = util.set_new_rs_annotations(d, rs, new_revision, exists=True)
        min_ready = int((d.get("spec") or {}).get("minReadySeconds") or 0)
        min_ready_changed = int((rs.get("spec") or {}).get("minReadySeconds") or 0) != min_ready
        if annotations_changed or min_ready_changed:
            rs["spec"]["minReadySeconds"] = min_ready
            rs = await ctx.client.update(REPLICA_SETS, rs)
        await set_revision(ctx, d, util.annotations_of(rs).get(util.REVISION, ""))
        if (
            util.progress_deadline(d) is not None
            and util.get_condition(d.setdefault("status", {}), util.PROGRESSING) is None
        ):
            message = f'Found new replica set "{rs["metadata"]["name"]}"'
            util.set_condition(
                d["status"],
                util.new_condition(util.PROGRESSING, "True", util.FOUND_NEW_RS, message, ctx.clock.now()),
            )
            await update_status(ctx, d)
        return rs
    if not create_if_missing:
        return None

    spec = d.get("spec") or {}
    collision_count = (d.get("status") or {}).get("collisionCount")
    template = deep_copy(spec.get("template") or {})
    pod_hash = util.compute_hash(template, collision_count)
    template.setdefault("metadata", {}).setdefault("labels", {})[util.POD_TEMPLATE_HASH] = pod_hash
    selector = deep_copy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})[util.POD_TEMPLATE_HASH] = pod_hash
    new_rs: JSON = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta["namespace"],
            "labels": deep_copy(template["metadata"]["labels"]),
            "ownerReferences": [new_controller_ref(d, DEPLOYMENTS)],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": int(spec.get("minReadySeconds") or 0),
            "selector": selector,
            "template": template,
        },
    }
    new_rs["spec"]["replicas"] = util.new_rs_new_replicas(d, [*old_rss, new_rs], new_rs)
    util.set_new_rs_annotations(d, new_rs, new_revision, exists=False)
    already_exists = False
    try:
        created = await ctx.client.create(REPLICA_SETS, new_rs, meta["namespace"])
    except ApiError as e:
        if e.reason != "AlreadyExists":
            message = f'Failed to create new replica set "{new_rs["metadata"]["name"]}": {e.status.get("message", e)}'
            if util.progress_deadline(d) is not None:
                util.set_condition(
                    d.setdefault("status", {}),
                    util.new_condition(
                        util.PROGRESSING, "False", util.FAILED_RS_CREATE, message, ctx.clock.now()
                    ),
                )
                await update_status(ctx, d)
            await ctx.recorder.event(d, "Warning", util.FAILED_RS_CREATE, message)
            raise
        # The name is taken: ours with an equal template (a stale cache) is fine; anything
        # else is a hash collision, resolved by hashing again with a bumped collisionCount.
        current = ctx.get_rs(meta["namespace"], new_rs["metadata"]["name"])
        if current is None:
            current = await ctx.client.get(REPLICA_SETS, new_rs["metadata"]["name"], meta["namespace"])
        if is_controlled_by(current, meta["uid"]) and util.equal_ignore_hash(
            (current.get("spec") or {}).get("template"), spec.get("template")
        ):
            created, already_exists = current, True
        else:
            d.setdefault("status", {})["collisionCount"] = int(collision_count or 0) + 1
            await update_status(ctx, d)
            raise
    if not already_exists and util.replicas_of(created) > 0:
        await ctx.recorder.event(
            d,
            NORMAL,
            "ScalingReplicaSet",
            f"Scaled up replica set {created['metadata']['name']} from 0 to {util.replicas_of(created)}",
        )
    needs_update = await set_revision(ctx, d, str(new_revision))
    if not already_exists and util.progress_deadline(d) is not None:
        message = f'Created new replica set "{created["metadata"]["name"]}"'
        util.set_condition(
            d.setdefault("status", {}),
            util.new_condition(util.PROGRESSING, "True", util.NEW_RS_CREATED, message, ctx.clock.now()),
        )
        needs_update = True
    if needs_update:
        await update_status(ctx, d)
    return created


# --- scaling ------------------------------------------------------------------------------


async def scale_replica_set(ctx: DeploymentContext, rs: JSON, new_scale: int, d: JSON) -> tuple[bool, JSON]:
    """Set the RS's replicas and desired/max annotations; event when the size changed."""
    desired, max_total = util.replicas_of(d), util.replicas_of(d) + util.max_surge(d)
    old_scale = util.replicas_of(rs)
    size_changed = old_scale != new_scale
    if not size_changed and not util.replicas_annotations_need_update(rs, desired, max_total):
        return False, rs
    body = deep_copy(rs)
    body["spec"]["replicas"] = new_scale
    util.set_replicas_annotations(body, desired, max_total)
    updated = await ctx.client.update(REPLICA_SETS, body)
    if size_changed:
        direction = "up" if old_scale < new_scale else "down"
        await ctx.recorder.event(
            d,
            NORMAL,
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs['metadata']['name']} from {old_scale} to {new_scale}",
        )
    return size_changed, updated


async def scale_replica_set_and_record_event(
    ctx: DeploymentContext, rs: JSON, new_scale: int, d: JSON
) -> tuple[bool, JSON]:
    if util.replicas_of(rs) == new_scale:
        return False, rs
    return await scale_replica_set(ctx, rs, new_scale, d)


async def is_scaling_event(ctx: DeploymentContext, d: JSON, rs_list: list[JSON]) -> bool:
    """An active RS was sized for a different spec.replicas: the user scaled, not rolled."""
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(ctx, d, rs_list, False)
    for rs in util.active([*old_rss, new_rs]):
        desired = util.annotations_of(rs).get(util.DESIRED_REPLICAS)
        if desired is not None and desired.isdigit() and int(desired) != util.replicas_of(d):
            return True
    return False


async def scale(ctx: DeploymentContext, d: JSON, new_rs: JSON | None, old_rss: list[JSON]) -> None:
    """Apply a change of spec.replicas.

    One active RS (or none): it simply takes the new size. A saturated new RS: the old ones
    go to 0. Otherwise (mid-rollout, RollingUpdate) the change is spread in proportion to
    the RS sizes, largest first; leftovers from rounding go to the largest RS. Example:
    10 → 20 with maxSurge 3 while old RS has 7 and new RS 6 (13 = the old max): 10 more
    replicas are allowed; proportions give old +5, new +5 → 12 and 11.
    """
    only = util.find_active_or_latest(new_rs, old_rss)
    if only is not None:
        if util.replicas_of(only) != util.replicas_of(d):
            await scale_replica_set_and_record_event(ctx, only, util.replicas_of(d), d)
        return
    if util.is_saturated(d, new_rs):
        for old in util.active(list(old_rss)):
            await scale_replica_set_and_record_event(ctx, old, 0, d)
        return
    if not util.is_rolling(d):
        return
    all_rss = util.active([*old_rss, new_rs])
    current = util.spec_replicas(all_rss)
    allowed = util.replicas_of(d) + util.max_surge(d) if util.replicas_of(d) > 0 else 0
    to_add = allowed - current
    by_age = util.by_creation(all_rss)
    age = {rs["metadata"]["uid"]: i for i, rs in enumerate(by_age)}
    if to_add > 0:  # larger first; among equals the newer first when growing
        all_rss.sort(key=lambda rs: (-util.replicas_of(rs), -age[rs["metadata"]["uid"]]))
    elif to_add < 0:  # larger first; among equals the older first when shrinking
        all_rss.sort(key=lambda rs: (-util.replicas_of(rs), age[rs["metadata"]["uid"]]))
    added = 0
    sizes: dict[str, int] = {}
    for rs in all_rss:
        if to_add != 0:
            share = util.replica_set_proportion(rs, d, to_add, added)
            sizes[rs["metadata"]["name"]] = util.replicas_of(rs) + share
            added += share
        else:
            sizes[rs["metadata"]["name"]] = util.replicas_of(rs)
    for i, rs in enumerate(all_rss):
        name = rs["metadata"]["name"]
        if i == 0 and to_add != 0:
            sizes[name] = max(0, sizes[name] + to_add - added)
        await scale_replica_set(ctx, rs, sizes[name], d)


async def sync_scale(ctx: DeploymentContext, d: JSON, rs_list: list[JSON]) -> None:
    """Scaling event or paused deployment: scale, clean up (when paused), write status."""
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(ctx, d, rs_list, False)
    await scale(ctx, d, new_rs, old_rss)
    if (d.get("spec") or {}).get("paused") and util.ROLLBACK_TO not in util.annotations_of(d):
        await cleanup_deployment(ctx, old_rss, d)
    await sync_deployment_status(ctx, [*old_rss, *([new_rs] if new_rs else [])], new_rs, d)


async def cleanup_deployment(ctx: DeploymentContext, old_rss: list[JSON], d: JSON) -> None:
    """Delete the oldest empty RSes beyond revisionHistoryLimit.

    Example: limit 2 and old RSes at revisions 1..4, all scaled to 0 → revisions 1 and 2
    are deleted; an RS still holding pods (or not yet observed at 0) is skipped this time.
    """
    limit = util.revision_history_limit(d)
    if limit is None:
        return
    cleanable = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
    diff = len(cleanable) - limit
    if diff <= 0:
        return
    cleanable.sort(key=lambda rs: (util.revision_of(rs), rs["metadata"].get("creationTimestamp") or ""))
    for rs in cleanable[:diff]:
        meta = rs["metadata"]
        status = rs.get("status") or {}
        if (
            util.status_int(rs, "replicas") != 0
            or util.replicas_of(rs) != 0
            or int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0)
        ):
            continue
        try:
            await ctx.client.delete(REPLICA_SETS, meta["name"], meta["namespace"])
        except ApiError as e:
            if not e.not_found:
                raise


# --- status -------------------------------------------------------------------------------


def calculate_status(all_rss: list[JSON], new_rs: JSON | None, d: JSON, ctx: DeploymentContext) -> JSON:
    """Counters over all RSes, observedGeneration, and the Available condition.

    Example: replicas 4 with maxUnavailable 1 → Available=True once 3 pods are available.
    """
    available = util.available_replicas(all_rss)
    total = util.spec_replicas(all_rss)
    old = d.get("status") or {}
    status: JSON = {
        "observedGeneration": int(d["metadata"].get("generation") or 0),
        "replicas": util.actual_replicas(all_rss),
        "updatedReplicas": util.actual_replicas([new_rs] if new_rs else []),
        "readyReplicas": util.ready_replicas(all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total - available),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    status["conditions"] = deep_copy(old.get("conditions") or [])
    now = ctx.clock.now()
    if available >= util.replicas_of(d) - util.max_unavailable(d):
        cond = util.new_condition(
            util.AVAILABLE, "True", util.MIN_AVAILABLE, "Deployment has minimum availability.", now
        )
    else:
        message = "Deployment does not have minimum availability."
        cond = util.new_condition(util.AVAILABLE, "False", util.MIN_UNAVAILABLE, message, now)
    util.set_condition(status, cond)
    return status


async def sync_deployment_status(
    ctx: DeploymentContext, all_rss: list[JSON], new_rs: JSON | None, d: JSON
) -> None:
    new_status = calculate_status(all_rss, new_rs, d, ctx)
    if status_equal(d.get("status") or {}, new_status):
        return
    d["status"] = new_status
    await update_status(ctx, d)


def status_equal(a: JSON, b: JSON) -> bool:
    """Compare statuses treating absent counters as 0 and absent conditions as empty."""

    def norm(s: JSON) -> JSON:
        return {k: v for k, v in s.items() if v not in (0, None, [])}

    return json_equal(norm(a), norm(b))
