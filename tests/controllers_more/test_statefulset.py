from __future__ import annotations

from litekube.client.base import JSON
from litekube.controllers.history import CONTROLLER_REVISIONS
from litekube.controllers.resources import EVENTS, PODS
from litekube.controllers.statefulset import STATEFUL_SETS, StatefulSetController
from tests.controllers.harness import Env
from tests.controllers_more.helpers import image_of, pod_template, pods_of


def statefulset(replicas: int = 3, policy: str = "OrderedReady", **spec: object) -> JSON:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "podManagementPolicy": policy,
            "selector": {"matchLabels": {"app": "web"}},
            "template": pod_template("nginx:1", "web"),
            **spec,
        },
    }


async def setup(env: Env, sts: JSON) -> StatefulSetController:
    controller = StatefulSetController(env.client, env.informers, env.clock)
    await env.start()
    await env.client.create(STATEFUL_SETS, sts, "default")
    await env.drive(controller)
    return controller


def names(env: Env) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods_of(env, "web-"))


async def ready_one_at_a_time(env: Env, controller: StatefulSetController) -> list[list[str]]:
    """Mark pods Ready one by one as they appear; returns the pod names seen after each step."""
    seen: list[list[str]] = [names(env)]
    for _ in range(20):
        pending = [p for p in pods_of(env, "web-") if not (p.get("status") or {}).get("phase") == "Running"]
        if not pending:
            break
        assert len(pending) == 1, "OrderedReady: one pod in flight at a time"
        await env.set_pod_ready(pending[0])
        await env.drive(controller)
        seen.append(names(env))
    return seen


async def test_ordered_ready_creation_and_identity(env: Env) -> None:
    controller = await setup(env, statefulset())
    assert names(env) == ["web-0"]  # web-1 waits until web-0 is Running and Ready
    steps = await ready_one_at_a_time(env, controller)
    assert steps == [["web-0"], ["web-0", "web-1"], ["web-0", "web-1", "web-2"], ["web-0", "web-1", "web-2"]]
    pod = env.get(PODS, "web-1")
    assert pod["spec"]["hostname"] == "web-1" and pod["spec"]["subdomain"] == "nginx"
    labels = pod["metadata"]["labels"]
    assert labels["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert labels["apps.kubernetes.io/pod-index"] == "1"
    revisions = env.objects(CONTROLLER_REVISIONS)
    assert len(revisions) == 1 and labels["controller-revision-hash"] == revisions[0]["metadata"]["name"]
    status = env.get(STATEFUL_SETS, "web")["status"]
    assert status["replicas"] == status["readyReplicas"] == status["availableReplicas"] == 3
    assert status["currentRevision"] == status["updateRevision"] == revisions[0]["metadata"]["name"]
    messages = [e["message"] for e in env.objects(EVENTS) if e["reason"] == "SuccessfulCreate"]
    assert messages[0] == "create Pod web-0 in StatefulSet web successful"


async def test_scale_down_in_reverse_order(env: Env) -> None:
    controller = await setup(env, statefulset(replicas=4))
    await ready_one_at_a_time(env, controller)
    assert names(env) == ["web-0", "web-1", "web-2", "web-3"]
    sts = env.get(STATEFUL_SETS, "web")
    sts["spec"]["replicas"] = 1
    await env.client.update(STATEFUL_SETS, sts)
    # one deletion per pass, highest ordinal first (the fake removes a pod at once)
    order: list[list[str]] = []
    for _ in range(5):
        await env.fake.settle()
        if not await controller.process_next():
            break
        order.append(names(env))
        await env.drive(controller)
    deleted = [e["message"] for e in env.objects(EVENTS) if e["reason"] == "SuccessfulDelete"]
    assert deleted == [f"delete Pod web-{i} in StatefulSet web successful" for i in (3, 2, 1)]
    assert names(env) == ["web-0"]


async def test_parallel_creates_all_at_once(env: Env) -> None:
    await setup(env, statefulset(replicas=3, policy="Parallel"))
    assert names(env) == ["web-0", "web-1", "web-2"]


async def test_rolling_update_with_partition(env: Env) -> None:
    sts = statefulset(replicas=4)
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    controller = await setup(env, sts)
    await ready_one_at_a_time(env, controller)
    sts = env.get(STATEFUL_SETS, "web")
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    await env.client.update(STATEFUL_SETS, sts)
    await env.drive(controller)
    # reverse order: web-3 goes first and comes back on the new revision
    assert "web-3" not in names(env) or image_of(env.get(PODS, "web-3")) == "nginx:2"
    for _ in range(10):
        await env.ready_all_pods()
        await env.drive(controller)
    images = {p["metadata"]["name"]: image_of(p) for p in pods_of(env, "web-")}
    assert images == {"web-0": "nginx:1", "web-1": "nginx:1", "web-2": "nginx:2", "web-3": "nginx:2"}
    status = env.get(STATEFUL_SETS, "web")["status"]
    assert status["updatedReplicas"] == 2 and status["currentReplicas"] == 2
    assert status["currentRevision"] != status["updateRevision"]  # partitioned: not complete
    # a pod below the partition that is deleted comes back on the current (old) revision
    await env.client.delete(PODS, "web-0", "default")
    await env.drive(controller)
    assert image_of(env.get(PODS, "web-0")) == "nginx:1"
    # lowering the partition to 0 finishes the rollout
    await env.ready_all_pods()
    sts = env.get(STATEFUL_SETS, "web")
    sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 0
    await env.client.update(STATEFUL_SETS, sts)
    for _ in range(10):
        await env.drive(controller)
        await env.ready_all_pods()
    await env.drive(controller)
    assert {image_of(p) for p in pods_of(env, "web-")} == {"nginx:2"}
    status = env.get(STATEFUL_SETS, "web")["status"]
    assert status["currentRevision"] == status["updateRevision"] and status["updatedReplicas"] == 4
    deleted = [e["message"].split()[2] for e in env.objects(EVENTS) if e["reason"] == "SuccessfulDelete"]
    assert deleted[:2] == ["web-3", "web-2"] and deleted[-2:] == ["web-1", "web-0"]


async def test_rolling_update_waits_for_each_pod(env: Env) -> None:
    controller = await setup(env, statefulset(replicas=3))
    await ready_one_at_a_time(env, controller)
    sts = env.get(STATEFUL_SETS, "web")
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    await env.client.update(STATEFUL_SETS, sts)
    await env.drive(controller)
    images = {p["metadata"]["name"]: image_of(p) for p in pods_of(env, "web-")}
    assert images == {"web-0": "nginx:1", "web-1": "nginx:1", "web-2": "nginx:2"}  # web-2 not Ready yet


async def test_volume_claim_templates_warned_once(env: Env) -> None:
    sts = statefulset(replicas=1, volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": {}}])
    controller = await setup(env, sts)
    await env.ready_all_pods()
    await env.drive(controller)
    warnings = [e for e in env.objects(EVENTS) if e["reason"] == "VolumeClaimTemplatesIgnored"]
    assert len(warnings) == 1 and warnings[0]["type"] == "Warning" and warnings[0].get("count", 1) == 1
    assert names(env) == ["web-0"]


async def test_on_delete_keeps_old_pods_until_deleted(env: Env) -> None:
    controller = await setup(env, statefulset(replicas=2, updateStrategy={"type": "OnDelete"}))
    await ready_one_at_a_time(env, controller)
    sts = env.get(STATEFUL_SETS, "web")
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    await env.client.update(STATEFUL_SETS, sts)
    await env.drive(controller)
    assert {image_of(p) for p in pods_of(env, "web-")} == {"nginx:1"}
    await env.client.delete(PODS, "web-1", "default")
    await env.drive(controller)
    assert image_of(env.get(PODS, "web-1")) == "nginx:2" and image_of(env.get(PODS, "web-0")) == "nginx:1"
    status = env.get(STATEFUL_SETS, "web")["status"]
    assert status["updatedReplicas"] == 1 and status["currentReplicas"] == 1


async def test_failed_pod_is_recreated_with_the_same_name(env: Env) -> None:
    controller = await setup(env, statefulset(replicas=2))
    await ready_one_at_a_time(env, controller)
    old = env.get(PODS, "web-0")
    await env.client.patch(PODS, "web-0", {"status": {"phase": "Failed"}}, "default", subresource="status")
    await env.drive(controller)
    new = env.get(PODS, "web-0")
    assert new["metadata"]["uid"] != old["metadata"]["uid"]


async def test_removed_identity_label_is_restored(env: Env) -> None:
    controller = await setup(env, statefulset(replicas=1))
    await env.client.patch(
        PODS, "web-0", {"metadata": {"labels": {"statefulset.kubernetes.io/pod-name": None}}}, "default"
    )
    await env.drive(controller)
    assert env.get(PODS, "web-0")["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-0"
