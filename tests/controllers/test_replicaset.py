from __future__ import annotations

from litekube.client.base import JSON
from litekube.client.fake import NAME_ALPHABET
from litekube.controllers.replicaset import ReplicaSetController, slow_start_batch
from litekube.controllers.resources import EVENTS, PODS, REPLICA_SETS
from tests.controllers.harness import Env


def rs_body(name: str = "web-abc", replicas: int = 3, min_ready: int = 0) -> JSON:
    labels = {"app": "web", "pod-template-hash": "abc"}
    return {
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


async def setup(env: Env, replicas: int = 3, min_ready: int = 0) -> tuple[ReplicaSetController, JSON]:
    rsc = ReplicaSetController(env.client, env.informers, env.clock)
    await env.start()
    rs = await env.client.create(REPLICA_SETS, rs_body(replicas=replicas, min_ready=min_ready))
    await env.drive(rsc)
    return rsc, rs


async def test_creates_pods_with_owner_reference_and_generated_names(env: Env) -> None:
    _rsc, rs = await setup(env)
    pods = env.objects(PODS)
    assert len(pods) == 3
    for pod in pods:
        name = pod["metadata"]["name"]
        assert name.startswith("web-abc-") and len(name) == len("web-abc-") + 5
        assert all(ch in NAME_ALPHABET for ch in name[-5:])
        assert pod["metadata"]["labels"] == {"app": "web", "pod-template-hash": "abc"}
        assert pod["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-abc",
                "uid": rs["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    status = env.get(REPLICA_SETS, "web-abc")["status"]
    assert status == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 0,
        "availableReplicas": 0,
        "observedGeneration": 1,
    }
    reasons = sorted(e["reason"] for e in env.objects(EVENTS))
    assert reasons == ["SuccessfulCreate"] * 3
    event = env.objects(EVENTS)[0]
    assert event["involvedObject"]["uid"] == rs["metadata"]["uid"]
    assert event["message"].startswith("Created pod: web-abc-")
    assert event["source"] == {"component": "replicaset-controller"}


async def test_slow_start_batches_and_stops_on_failure() -> None:
    calls: list[int] = []

    async def ok() -> None:
        calls.append(1)

    assert await slow_start_batch(10, 1, ok) == (10, None)
    assert len(calls) == 10

    attempts = 0

    async def fail_from_fourth() -> None:
        nonlocal attempts
        attempts += 1
        if attempts >= 4:
            raise RuntimeError("quota")

    successes, error = await slow_start_batch(10, 1, fail_from_fourth)
    # batches 1, 2 succeed, the batch of 4 has failures, nothing after it is tried
    assert attempts == 7 and successes == 3 and isinstance(error, RuntimeError)


async def test_ready_pods_counted_and_status_updates(env: Env) -> None:
    rsc, _rs = await setup(env)
    await env.ready_all_pods()
    await env.drive(rsc)
    status = env.get(REPLICA_SETS, "web-abc")["status"]
    assert status["readyReplicas"] == 3 and status["availableReplicas"] == 3


async def test_min_ready_seconds_delays_availability(env: Env) -> None:
    rsc, _rs = await setup(env, min_ready=10)
    await env.ready_all_pods()
    await env.drive(rsc)
    status = env.get(REPLICA_SETS, "web-abc")["status"]
    assert status["readyReplicas"] == 3 and status["availableReplicas"] == 0
    await env.advance(11, rsc)
    assert env.get(REPLICA_SETS, "web-abc")["status"]["availableReplicas"] == 3


async def test_scale_down_deletes_unready_pods_first(env: Env) -> None:
    rsc, _rs = await setup(env, replicas=3)
    pods = env.objects(PODS)
    await env.set_pod_ready(pods[0])
    await env.set_pod_ready(pods[2])
    await env.drive(rsc)
    await env.client.patch(REPLICA_SETS, "web-abc", {"spec": {"replicas": 2}}, "default", subresource="scale")
    await env.drive(rsc)
    remaining = {p["metadata"]["name"] for p in env.objects(PODS)}
    assert remaining == {pods[0]["metadata"]["name"], pods[2]["metadata"]["name"]}
    deleted = [e for e in env.objects(EVENTS) if e["reason"] == "SuccessfulDelete"]
    assert [e["message"] for e in deleted] == [f"Deleted pod: {pods[1]['metadata']['name']}"]


async def test_replaces_deleted_pod(env: Env) -> None:
    rsc, _rs = await setup(env)
    victim = env.objects(PODS)[0]["metadata"]["name"]
    await env.client.delete(PODS, victim, "default")
    await env.drive(rsc)
    names = {p["metadata"]["name"] for p in env.objects(PODS)}
    assert len(names) == 3 and victim not in names


async def test_adopts_matching_orphan_and_releases_mismatched(env: Env) -> None:
    rsc = ReplicaSetController(env.client, env.informers, env.clock)
    await env.start()
    labels = {"app": "web", "pod-template-hash": "abc"}
    orphan = {"metadata": {"name": "stray", "labels": labels}, "spec": {"containers": [{"name": "c"}]}}
    await env.client.create(PODS, orphan, "default")
    rs = await env.client.create(REPLICA_SETS, rs_body(replicas=1))
    await env.drive(rsc)
    pods = env.objects(PODS)
    assert [p["metadata"]["name"] for p in pods] == ["stray"]  # adopted, nothing created
    assert pods[0]["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    # relabel: the RS releases it and creates a replacement
    await env.client.patch(PODS, "stray", {"metadata": {"labels": {"app": "other"}}}, "default")
    await env.drive(rsc)
    stray = env.get(PODS, "stray")
    assert not stray["metadata"].get("ownerReferences")
    assert len(env.objects(PODS)) == 2


async def test_expectations_prevent_double_creation(env: Env) -> None:
    rsc = ReplicaSetController(env.client, env.informers, env.clock)
    await env.start()
    await env.client.create(REPLICA_SETS, rs_body(replicas=2))
    await env.fake.settle()
    await rsc.sync("default/web-abc")
    # the pod informer has not necessarily seen the pods; a second sync must not create more
    await rsc.sync("default/web-abc")
    assert len(env.fake.writes_to("pods", "POST")) == 2


async def test_create_failure_sets_replica_failure_then_recovers(env: Env) -> None:
    rsc = ReplicaSetController(env.client, env.informers, env.clock)
    await env.start()
    env.fake.inject_error("POST", "pods", 403, "Forbidden", times=1)
    await env.client.create(REPLICA_SETS, rs_body(replicas=3))
    await env.fake.settle()
    try:
        await rsc.sync("default/web-abc")
    except Exception as e:
        assert "Forbidden" in str(e)
    else:
        raise AssertionError("sync should fail")
    # the first batch (1 pod) failed, so nothing else was tried; the failure is in status
    assert len(env.fake.writes_to("pods", "POST", ok=False)) == 1
    status = env.get(REPLICA_SETS, "web-abc")["status"]
    assert status["conditions"][0]["type"] == "ReplicaFailure"
    assert status["conditions"][0]["reason"] == "FailedCreate"
    assert status["conditions"][0]["message"] == "injected Forbidden"
    assert [e["reason"] for e in env.objects(EVENTS)] == ["FailedCreate"]
    await env.drive(rsc)
    assert len(env.objects(PODS)) == 3
    assert "conditions" not in env.get(REPLICA_SETS, "web-abc")["status"]


async def test_replication_controller_uses_a_plain_map_selector(env: Env) -> None:
    from litekube.controllers.replicationcontroller import ReplicationManager
    from litekube.controllers.resources import REPLICATION_CONTROLLERS

    rcm = ReplicationManager(env.client, env.informers, env.clock)
    await env.start()
    rc = {
        "metadata": {"name": "legacy", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"app": "legacy"},
            "template": {"metadata": {"labels": {"app": "legacy"}}, "spec": {"containers": [{"name": "c"}]}},
        },
    }
    created = await env.client.create(REPLICATION_CONTROLLERS, rc)
    await env.drive(rcm)
    pods = env.objects(PODS)
    assert len(pods) == 2
    ref = pods[0]["metadata"]["ownerReferences"][0]
    assert (ref["apiVersion"], ref["kind"], ref["uid"]) == (
        "v1",
        "ReplicationController",
        created["metadata"]["uid"],
    )
    assert env.get(REPLICATION_CONTROLLERS, "legacy")["status"]["replicas"] == 2
    assert env.objects(EVENTS)[0]["source"] == {"component": "replication-controller"}
