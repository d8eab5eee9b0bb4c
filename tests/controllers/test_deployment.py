from __future__ import annotations

from litekube.controllers.deployment import util
from litekube.controllers.resources import DEPLOYMENTS, EVENTS, PODS, REPLICA_SETS
from tests.controllers.deployment_helpers import Cluster, deployment_body
from tests.controllers.harness import Env


async def start(env: Env, **kwargs: object) -> Cluster:
    cluster = Cluster(env)
    await env.start()
    await env.client.create(DEPLOYMENTS, deployment_body(**kwargs))  # type: ignore[arg-type]
    await cluster.settle()
    return cluster


def condition(obj: dict, type_: str) -> dict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


async def test_new_deployment_creates_replica_set_and_pods(env: Env) -> None:
    cluster = await start(env)
    d = env.get(DEPLOYMENTS, "web")
    [rs] = env.objects(REPLICA_SETS)
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert set(pod_hash) <= set(util.SAFE_ALPHABET)
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": pod_hash}}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
    assert rs["spec"]["replicas"] == 3
    assert rs["metadata"]["annotations"] == {
        util.REVISION: "1",
        util.DESIRED_REPLICAS: "3",
        util.MAX_REPLICAS: "4",
    }
    assert rs["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": d["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert d["metadata"]["annotations"][util.REVISION] == "1"
    assert len(cluster.live_pods()) == 3
    scaling = [e for e in env.objects(EVENTS) if e["reason"] == "ScalingReplicaSet"]
    assert [e["message"] for e in scaling] == [f"Scaled up replica set web-{pod_hash} from 0 to 3"]
    assert scaling[0]["involvedObject"]["kind"] == "Deployment"
    assert scaling[0]["involvedObject"]["uid"] == d["metadata"]["uid"]
    assert condition(d, "Progressing")["reason"] == "ReplicaSetUpdated"
    assert condition(d, "Available")["status"] == "False"

    await env.ready_all_pods()
    await cluster.settle()
    d = env.get(DEPLOYMENTS, "web")
    assert d["status"]["observedGeneration"] == 1
    assert d["status"]["replicas"] == d["status"]["updatedReplicas"] == 3
    assert d["status"]["readyReplicas"] == d["status"]["availableReplicas"] == 3
    available = condition(d, "Available")
    assert (available["status"], available["reason"], available["message"]) == (
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    progressing = condition(d, "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "True",
        "NewReplicaSetAvailable",
        f'ReplicaSet "web-{pod_hash}" has successfully progressed.',
    )


async def rolling_update(env: Env, cluster: Cluster, replicas: int, surge: int, unavailable: int) -> int:
    """Set a new image, then play kubelet one pod at a time, checking the bounds at each step."""
    await env.client.patch(
        DEPLOYMENTS,
        "web",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.22"}]}}}},
        "default",
    )
    steps = 0
    for steps in range(1, 200):
        await cluster.settle()
        live = cluster.live_pods()
        assert len(live) <= replicas + surge, f"step {steps}: {len(live)} pods"
        assert len(cluster.available_pods()) >= replicas - unavailable, f"step {steps}"
        d = env.get(DEPLOYMENTS, "web")
        status = d["status"]
        if (
            status.get("updatedReplicas")
            == replicas
            == status.get("availableReplicas")
            == status.get("replicas")
        ):
            break
        not_ready = [p for p in live if p not in cluster.available_pods()]
        assert not_ready, f"step {steps}: stuck with status {status}"
        await env.set_pod_ready(not_ready[0])
    return steps


async def test_rolling_update_respects_surge_and_unavailability(env: Env) -> None:
    cluster = await start(env)
    await env.ready_all_pods()
    await cluster.settle()
    steps = await rolling_update(env, cluster, replicas=3, surge=1, unavailable=0)
    assert steps >= 3
    rss = {rs["metadata"]["annotations"][util.REVISION]: rs for rs in env.objects(REPLICA_SETS)}
    assert rss["1"]["spec"]["replicas"] == 0 and rss["2"]["spec"]["replicas"] == 3
    assert rss["2"]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.22"
    d = env.get(DEPLOYMENTS, "web")
    assert d["metadata"]["annotations"][util.REVISION] == "2"
    assert d["status"]["observedGeneration"] == 2
    messages = [e["message"] for e in env.objects(EVENTS) if e["reason"] == "ScalingReplicaSet"]
    new_name = rss["2"]["metadata"]["name"]
    assert f"Scaled up replica set {new_name} from 0 to 1" in messages


async def test_rolling_update_with_absolute_and_percent_bounds(env: Env) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": "20%"}}
    cluster = await start(env, replicas=10, strategy=strategy)
    await env.ready_all_pods()
    await cluster.settle()
    await rolling_update(env, cluster, replicas=10, surge=3, unavailable=2)


async def test_rollback_reuses_old_replica_set_and_bumps_revision(env: Env) -> None:
    cluster = await start(env)
    await env.ready_all_pods()
    await cluster.settle()
    await rolling_update(env, cluster, replicas=3, surge=1, unavailable=0)
    old = next(rs for rs in env.objects(REPLICA_SETS) if rs["metadata"]["annotations"][util.REVISION] == "1")
    # what `kubectl rollout undo` sends: the old template without the hash label
    template = old["spec"]["template"]
    del template["metadata"]["labels"]["pod-template-hash"]
    await env.client.patch(
        DEPLOYMENTS,
        "web",
        [{"op": "replace", "path": "/spec/template", "value": template}],
        "default",
        patch_type="application/json-patch+json",
    )
    for _ in range(20):
        await cluster.settle()
        if not await env.ready_all_pods():
            break
    await cluster.settle()
    rss = env.objects(REPLICA_SETS)
    assert len(rss) == 2  # no third ReplicaSet
    reused = next(rs for rs in rss if rs["metadata"]["uid"] == old["metadata"]["uid"])
    assert reused["metadata"]["annotations"][util.REVISION] == "3"
    assert reused["metadata"]["annotations"][util.REVISION_HISTORY] == "1"
    assert reused["spec"]["replicas"] == 3
    assert env.get(DEPLOYMENTS, "web")["metadata"]["annotations"][util.REVISION] == "3"
    images = {p["spec"]["containers"][0]["image"] for p in cluster.live_pods()}
    assert images == {"nginx:1.21"}


async def test_scale_up_through_scale_subresource(env: Env) -> None:
    cluster = await start(env)
    await env.ready_all_pods()
    await cluster.settle()
    await env.client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 5}}, "default", subresource="scale")
    await cluster.settle()
    [rs] = env.objects(REPLICA_SETS)
    assert rs["spec"]["replicas"] == 5
    assert rs["metadata"]["annotations"][util.DESIRED_REPLICAS] == "5"
    assert rs["metadata"]["annotations"][util.MAX_REPLICAS] == "7"
    assert len(cluster.live_pods()) == 5
    messages = [e["message"] for e in env.objects(EVENTS) if e["reason"] == "ScalingReplicaSet"]
    assert messages[-1] == f"Scaled up replica set {rs['metadata']['name']} from 3 to 5"


async def test_proportional_scaling_during_rollout(env: Env) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    cluster = await start(env, replicas=10, strategy=strategy)
    await env.ready_all_pods()
    await cluster.settle()
    await env.client.patch(
        DEPLOYMENTS,
        "web",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.22"}]}}}},
        "default",
    )
    await cluster.settle()  # new RS 0→3 (surge), old 10→8 (unavailable 2): 11 + ... pods
    sizes = {
        rs["metadata"]["annotations"][util.REVISION]: rs["spec"]["replicas"]
        for rs in env.objects(REPLICA_SETS)
    }
    assert sizes["1"] + sizes["2"] == 13
    await env.client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 20}}, "default", subresource="scale")
    await cluster.settle()
    after = {
        rs["metadata"]["annotations"][util.REVISION]: rs["spec"]["replicas"]
        for rs in env.objects(REPLICA_SETS)
    }
    assert after["1"] + after["2"] == 23  # 20 + maxSurge 3, spread over both
    assert after["1"] > sizes["1"] and after["2"] > sizes["2"]


async def test_recreate_waits_for_old_pods(env: Env) -> None:
    cluster = await start(env, strategy={"type": "Recreate"})
    await env.ready_all_pods()
    await cluster.settle()
    await env.client.patch(
        DEPLOYMENTS,
        "web",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.22"}]}}}},
        "default",
    )
    # one deployment sync: old RS to 0, and no new RS yet
    await env.fake.settle()
    await cluster.deployments.process_next()
    assert len(env.objects(REPLICA_SETS)) == 1
    assert env.objects(REPLICA_SETS)[0]["spec"]["replicas"] == 0
    await cluster.settle()
    rss = {rs["metadata"]["annotations"][util.REVISION]: rs for rs in env.objects(REPLICA_SETS)}
    assert rss["2"]["spec"]["replicas"] == 3 and rss["1"]["spec"]["replicas"] == 0
    images = {p["spec"]["containers"][0]["image"] for p in cluster.live_pods()}
    assert images == {"nginx:1.22"}


async def test_paused_deployment_does_not_roll_until_resumed(env: Env) -> None:
    cluster = await start(env)
    await env.ready_all_pods()
    await cluster.settle()
    await env.client.patch(DEPLOYMENTS, "web", {"spec": {"paused": True}}, "default")
    await cluster.settle()
    progressing = condition(env.get(DEPLOYMENTS, "web"), "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )
    await env.client.patch(
        DEPLOYMENTS,
        "web",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.22"}]}}}},
        "default",
    )
    await cluster.settle()
    assert len(env.objects(REPLICA_SETS)) == 1
    assert env.get(DEPLOYMENTS, "web")["status"]["observedGeneration"] == 3
    await env.client.patch(DEPLOYMENTS, "web", {"spec": {"paused": False}}, "default")
    await cluster.settle()
    assert len(env.objects(REPLICA_SETS)) == 2


async def test_progress_deadline_exceeded(env: Env) -> None:
    cluster = await start(env, progressDeadlineSeconds=60)
    await env.advance(30, cluster.deployments, cluster.replica_sets)
    assert condition(env.get(DEPLOYMENTS, "web"), "Progressing")["reason"] == "ReplicaSetUpdated"
    await env.advance(31, cluster.deployments, cluster.replica_sets)
    await env.advance(1, cluster.deployments, cluster.replica_sets)
    progressing = condition(env.get(DEPLOYMENTS, "web"), "Progressing")
    rs_name = env.objects(REPLICA_SETS)[0]["metadata"]["name"]
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{rs_name}" has timed out progressing.',
    )


async def test_revision_history_limit_deletes_oldest_empty_sets(env: Env) -> None:
    cluster = await start(env, revisionHistoryLimit=1)
    await env.ready_all_pods()
    await cluster.settle()
    for image in ("nginx:1.22", "nginx:1.23"):
        await env.client.patch(
            DEPLOYMENTS,
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}},
            "default",
        )
        for _ in range(20):
            await cluster.settle()
            if not await env.ready_all_pods():
                break
    await cluster.settle()
    revisions = sorted(rs["metadata"]["annotations"][util.REVISION] for rs in env.objects(REPLICA_SETS))
    assert revisions == ["2", "3"]


async def test_change_cause_is_copied_to_replica_set(env: Env) -> None:
    cluster = Cluster(env)
    await env.start()
    body = deployment_body()
    body["metadata"]["annotations"] = {util.CHANGE_CAUSE: "kubectl apply", util.LAST_APPLIED: "{}"}
    await env.client.create(DEPLOYMENTS, body)
    await cluster.settle()
    [rs] = env.objects(REPLICA_SETS)
    assert rs["metadata"]["annotations"][util.CHANGE_CAUSE] == "kubectl apply"
    assert util.LAST_APPLIED not in rs["metadata"]["annotations"]


async def test_pods_of_old_replica_set_are_deleted_on_scale_down(env: Env) -> None:
    cluster = await start(env)
    await env.ready_all_pods()
    await cluster.settle()
    await env.client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 1}}, "default")
    await cluster.settle()
    assert len(env.objects(PODS)) == 1
