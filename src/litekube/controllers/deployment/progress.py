"""The Progressing condition: created/found/updated, complete, or past its deadline.

`sync_rollout_status` is the status write at the end of a rollout step. Besides the
counters (sync.calculate_status) it moves the Progressing condition:
- rollout complete → True/NewReplicaSetAvailable `ReplicaSet "web-x" has successfully progressed.`;
- any progress since the last status → True/ReplicaSetUpdated `ReplicaSet "web-x" is progressing.`
  (lastUpdateTime moves, lastTransitionTime stays);
- no progress for progressDeadlineSeconds since lastUpdateTime →
  False/ProgressDeadlineExceeded `ReplicaSet "web-x" has timed out progressing.`
If nothing changed it instead schedules the deadline check (`requeue_stuck_deployment`):
lastUpdateTime 00:00:00, now 00:03:00, deadline 600 s → look again in 7 min (+1 s).

`check_paused_conditions` records pause and resume as Progressing=Unknown
(DeploymentPaused "Deployment is paused" / DeploymentResumed "Deployment is resumed").
"""

from __future__ import annotations

from litekube.client.base import JSON
from litekube.controllers.deployment import util
from litekube.controllers.deployment.sync import (
    DeploymentContext,
    calculate_status,
    status_equal,
    update_status,
)
from litekube.machinery.clock import parse_time


async def sync_rollout_status(
    ctx: DeploymentContext, all_rss: list[JSON], new_rs: JSON | None, d: JSON
) -> None:
    now = ctx.clock.now()
    new_status = calculate_status(all_rss, new_rs, d, ctx)
    has_deadline = util.progress_deadline(d) is not None
    if not has_deadline:
        util.remove_condition(new_status, util.PROGRESSING)
    current = util.get_condition(d.get("status") or {}, util.PROGRESSING)
    complete_before = (
        new_status["replicas"] == new_status["updatedReplicas"]
        and current is not None
        and current.get("reason") == util.NEW_RS_AVAILABLE
    )
    subject = (
        f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs else f'Deployment "{d["metadata"]["name"]}"'
    )
    if has_deadline and not complete_before:
        if util.deployment_complete(d, new_status):
            cond = util.new_condition(
                util.PROGRESSING,
                "True",
                util.NEW_RS_AVAILABLE,
                f"{subject} has successfully progressed.",
                now,
            )
            util.set_condition(new_status, cond)
        elif util.deployment_progressing(d, new_status):
            cond = util.new_condition(
                util.PROGRESSING, "True", util.RS_UPDATED, f"{subject} is progressing.", now
            )
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                util.remove_condition(new_status, util.PROGRESSING)
            util.set_condition(new_status, cond)
        elif util.deployment_timed_out(d, new_status, now):
            cond = util.new_condition(
                util.PROGRESSING, "False", util.TIMED_OUT, f"{subject} has timed out progressing.", now
            )
            util.set_condition(new_status, cond)
    failure = _replica_failure(all_rss, new_rs)
    if failure is not None:
        util.set_condition(new_status, failure)
    else:
        util.remove_condition(new_status, util.REPLICA_FAILURE)
    if not new_status.get("conditions"):
        new_status.pop("conditions", None)
    if status_equal(d.get("status") or {}, new_status):
        requeue_stuck_deployment(ctx, d, new_status)
        return
    d["status"] = new_status
    await update_status(ctx, d)


def _replica_failure(all_rss: list[JSON], new_rs: JSON | None) -> JSON | None:
    """The new RS's ReplicaFailure (else any RS's), surfaced on the deployment."""
    ordered = ([new_rs] if new_rs else []) + [rs for rs in all_rss if rs is not new_rs]
    for rs in ordered:
        for cond in (rs.get("status") or {}).get("conditions") or ():
            if cond.get("type") == util.REPLICA_FAILURE:
                return {
                    "type": util.REPLICA_FAILURE,
                    "status": cond.get("status"),
                    "lastUpdateTime": cond.get("lastTransitionTime"),
                    "lastTransitionTime": cond.get("lastTransitionTime"),
                    "reason": cond.get("reason"),
                    "message": cond.get("message"),
                }
    return None


def requeue_stuck_deployment(ctx: DeploymentContext, d: JSON, new_status: JSON) -> float | None:
    """Look at a deployment again when its progress deadline would pass."""
    deadline = util.progress_deadline(d)
    current = util.get_condition(d.get("status") or {}, util.PROGRESSING)
    if deadline is None or current is None:
        return None
    if util.deployment_complete(d, new_status) or current.get("reason") == util.TIMED_OUT:
        return None
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return None
    after = since.timestamp() + deadline - ctx.clock.now().timestamp()
    if after < 1:
        ctx.requeue_rate_limited(d)
        return 0.0
    ctx.requeue_after(d, after + 1)
    return after


async def check_paused_conditions(ctx: DeploymentContext, d: JSON) -> None:
    if util.progress_deadline(d) is None:
        return
    status = d.setdefault("status", {})
    cond = util.get_condition(status, util.PROGRESSING)
    if cond is not None and cond.get("reason") == util.TIMED_OUT:
        return  # a reported lack of progress is not overwritten by pausing
    paused_recorded = cond is not None and cond.get("reason") == util.PAUSED
    paused = bool((d.get("spec") or {}).get("paused"))
    now = ctx.clock.now()
    if paused and not paused_recorded:
        util.set_condition(
            status, util.new_condition(util.PROGRESSING, "Unknown", util.PAUSED, "Deployment is paused", now)
        )
    elif not paused and paused_recorded:
        util.set_condition(
            status,
            util.new_condition(util.PROGRESSING, "Unknown", util.RESUMED, "Deployment is resumed", now),
        )
    else:
        return
    await update_status(ctx, d)
