from __future__ import annotations

from litekube.controllers.garbagecollector import GarbageCollector
from litekube.controllers.resources import DEPLOYMENTS, PODS, REPLICA_SETS
from tests.controllers.deployment_helpers import Cluster, deployment_body
from tests.controllers.harness import Env


async def start(env: Env) -> tuple[Cluster, GarbageCollector]:
    cluster = Cluster(env)
    gc = GarbageCollector(env.client, env.informers, env.clock, resources=[DEPLOYMENTS, REPLICA_SETS, PODS])
    await env.start()
    await env.client.create(DEPLOYMENTS, deployment_body())
    await env.drive(cluster.deployments, cluster.replica_sets, gc)
    assert len(env.objects(PODS)) == 3
    return cluster, gc


async def test_background_deletion_removes_replica_sets_and_pods(env: Env) -> None:
    cluster, gc = await start(env)
    await env.client.delete(DEPLOYMENTS, "web", "default", propagation_policy="Background")
    await env.drive(cluster.deployments, cluster.replica_sets, gc)
    assert env.objects(DEPLOYMENTS) == []
    assert env.objects(REPLICA_SETS) == []
    assert env.objects(PODS) == []


async def test_orphan_deletion_keeps_dependents_without_owner_reference(env: Env) -> None:
    cluster, gc = await start(env)
    await env.client.delete(DEPLOYMENTS, "web", "default", propagation_policy="Orphan")
    await env.drive(cluster.deployments, cluster.replica_sets, gc)
    assert env.objects(DEPLOYMENTS) == []
    [rs] = env.objects(REPLICA_SETS)
    assert not rs["metadata"].get("ownerReferences")
    pods = env.objects(PODS)
    assert len(pods) == 3
    # the pods still belong to the ReplicaSet: only the deleted owner's references go
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" for p in pods)


async def test_foreground_deletion_removes_dependents_before_owner(env: Env) -> None:
    cluster, gc = await start(env)
    await env.client.delete(DEPLOYMENTS, "web", "default", propagation_policy="Foreground")
    await env.fake.settle()
    # while dependents exist the deployment stays, marked for deletion
    d = env.get(DEPLOYMENTS, "web")
    assert d["metadata"]["deletionTimestamp"] and d["metadata"]["finalizers"] == ["foregroundDeletion"]
    await env.drive(cluster.deployments, cluster.replica_sets, gc)
    assert env.objects(PODS) == []
    assert env.objects(REPLICA_SETS) == []
    assert env.objects(DEPLOYMENTS) == []
    # order: pods went before their ReplicaSet, the ReplicaSet before the Deployment
    deletions = [
        w for w in env.fake.writes if w.code < 300 and (w.method == "DELETE" or "finalizers" in str(w.body))
    ]
    kinds = [w.path.split("/")[-2] for w in deletions if w.method == "DELETE"]
    assert kinds.index("pods") > kinds.index("replicasets")  # RS is marked first (foreground) ...
    last_rs = max(i for i, w in enumerate(env.fake.writes) if "replicasets" in w.path)
    last_pod = max(i for i, w in enumerate(env.fake.writes) if "/pods/" in w.path)
    assert last_pod < last_rs  # ... but only finalized after its pods are gone


async def test_dangling_reference_removed_when_another_owner_remains(env: Env) -> None:
    gc = GarbageCollector(env.client, env.informers, env.clock, resources=[DEPLOYMENTS, PODS])
    await env.start()
    keeper = await env.client.create(DEPLOYMENTS, deployment_body("keeper"))
    pod = {
        "metadata": {
            "name": "shared",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "keeper",
                    "uid": keeper["metadata"]["uid"],
                },
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gone", "uid": "no-such-uid"},
            ],
        },
        "spec": {"containers": [{"name": "c"}]},
    }
    await env.client.create(PODS, pod, "default")
    await env.drive(gc)
    refs = env.get(PODS, "shared")["metadata"]["ownerReferences"]
    assert [r["name"] for r in refs] == ["keeper"]


async def test_status_writes_enqueue_nothing_but_a_lost_owner_is_collected(env: Env) -> None:
    # upstream's graph builder acts on ownerReference changes, not on every write
    cluster, gc = await start(env)
    pod = env.objects(PODS)[0]
    name = pod["metadata"]["name"]
    status = {**pod, "status": {"phase": "Running"}}
    await env.client.update_status(PODS, status)
    await env.fake.settle()
    assert len(gc.queue) == 0
    # pointing the pod at an owner that does not exist is a change of references: collected
    ref = {**pod["metadata"]["ownerReferences"][0], "uid": "no-such-uid", "name": "gone"}
    await env.client.patch(PODS, name, {"metadata": {"ownerReferences": [ref]}}, "default")
    await env.drive(cluster.deployments, cluster.replica_sets, gc)
    assert name not in [p["metadata"]["name"] for p in env.objects(PODS)]
