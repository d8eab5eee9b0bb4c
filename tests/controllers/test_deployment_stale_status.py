"""Regression (issue 3): a rolling update must not act on a ReplicaSet status older than its spec.

At scale the Deployment controller often syncs again before the ReplicaSet controller has
written the status of an old RS it just scaled down: spec.replicas 6 while
status.availableReplicas still says 8. "Unhealthy replicas" = 6 - 8 went negative and the
old RS was scaled back *up*, so the sum of spec.replicas passed replicas + maxSurge
(1,263 of a 1,250 cap in the benchmark). Here only the Deployment controller runs, so the
old RS's status stays stale on purpose.
"""

from __future__ import annotations

from litekube.controllers.deployment import util
from litekube.controllers.resources import DEPLOYMENTS, EVENTS, REPLICA_SETS
from tests.controllers.deployment_helpers import Cluster, deployment_body
from tests.controllers.harness import Env

STRATEGY = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 2}}


def by_revision(env: Env) -> dict[str, dict]:
    return {rs["metadata"]["annotations"][util.REVISION]: rs for rs in env.objects(REPLICA_SETS)}


def scaled_back_up(env: Env, name: str) -> list[str]:
    """ScalingReplicaSet events growing `name` again (its creation at 8 excepted)."""
    prefix = f"Scaled up replica set {name} from "
    messages = [e["message"] for e in env.objects(EVENTS) if e["reason"] == "ScalingReplicaSet"]
    return [m for m in messages if m.startswith(prefix) and not m.startswith(prefix + "0 ")]


async def test_stale_old_replica_set_status_never_scales_it_back_up(env: Env) -> None:
    cluster = Cluster(env)
    await env.start()
    await env.client.create(DEPLOYMENTS, deployment_body(replicas=8, strategy=STRATEGY))
    await cluster.settle()
    await env.ready_all_pods()
    await cluster.settle()
    assert util.status_int(by_revision(env)["1"], "availableReplicas") == 8

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.22"}]}}}}
    await env.client.patch(
        DEPLOYMENTS, "web", patch, "default", patch_type="application/strategic-merge-patch+json"
    )
    await env.drive(cluster.deployments)  # the ReplicaSet controller does not run: statuses stay stale
    rss = by_revision(env)
    # new RS 0 → 2 (surge), old RS 8 → 6 (unavailable), new RS 2 → 4: the old RS's status
    # still counts 8 available pods for its spec of 6.
    old, new = rss["1"], rss["2"]
    old_name = old["metadata"]["name"]
    assert (util.replicas_of(old), util.status_int(old, "availableReplicas")) == (6, 8)
    assert util.replicas_of(new) == 4
    # Pretend the new pods came up (the new RS's status is current).
    new_status = {**new, "status": {"replicas": 4, "readyReplicas": 4, "availableReplicas": 4}}
    await env.client.update_status(REPLICA_SETS, new_status)

    await env.drive(cluster.deployments)
    rss = by_revision(env)
    assert rss["1"]["spec"]["replicas"] <= 6, "the old RS was scaled back up"
    assert not scaled_back_up(env, old_name)
    assert rss["1"]["spec"]["replicas"] + rss["2"]["spec"]["replicas"] <= 8 + 2

    # Once the ReplicaSet controller catches up, the rollout finishes within the bounds.
    for _ in range(50):
        await cluster.settle()
        await env.ready_all_pods()
        rss = by_revision(env)
        assert sum(rs["spec"]["replicas"] for rs in rss.values()) <= 10
        if rss["2"]["spec"]["replicas"] == 8 and rss["1"]["spec"]["replicas"] == 0:
            break
    else:
        raise AssertionError(f"rollout did not finish: {[rs['spec'] for rs in rss.values()]}")
    assert not scaled_back_up(env, old_name)
