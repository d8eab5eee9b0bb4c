from __future__ import annotations

from litekube.client.base import JSON
from litekube.controllers.daemonset import DAEMON_SETS, DaemonSetController, target_node
from litekube.controllers.daemonset.controller import NODES
from litekube.controllers.history import CONTROLLER_REVISIONS
from litekube.controllers.resources import EVENTS, PODS
from tests.controllers.harness import Env
from tests.controllers_more.helpers import add_node, image_of, node, pod_template, pods_of


def daemonset(
    name: str = "agent", image: str = "agent:1", max_unavailable: int | str = 1, **spec: object
) -> JSON:
    body: JSON = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": pod_template(image, name),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}},
            **spec,
        },
    }
    return body


async def setup(env: Env, nodes: list[JSON], ds: JSON) -> DaemonSetController:
    for n in nodes:
        await add_node(env, n)
    controller = DaemonSetController(env.client, env.informers, env.clock)
    await env.start()
    await env.client.create(DAEMON_SETS, ds, "default")
    await env.drive(controller)
    return controller


def by_node(env: Env, prefix: str = "agent-") -> dict[str, JSON]:
    found: dict[str, JSON] = {}
    for pod in pods_of(env, prefix):
        where = target_node(pod)
        assert where is not None and where not in found, "one pod per node"
        found[where] = pod
    return found


async def test_pods_only_on_eligible_nodes(env: Env) -> None:
    nodes = [
        node("n1"),
        node("n2", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
        node("n3"),
        node("n4", unschedulable=True),  # cordoned: daemons still run there (automatic toleration)
        node("n5", ready=False),
    ]
    controller = await setup(env, nodes, daemonset())
    pods = by_node(env)
    assert sorted(pods) == ["n1", "n3", "n4"]
    pod = pods["n1"]
    assert pod["metadata"]["generateName"] == "agent-"
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]
    }
    tolerated = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in tolerated
    assert ("node.kubernetes.io/not-ready", "NoExecute") in tolerated
    labels = pod["metadata"]["labels"]
    assert labels["pod-template-generation"] == "1"
    revisions = env.objects(CONTROLLER_REVISIONS)
    assert len(revisions) == 1 and revisions[0]["revision"] == 1
    assert revisions[0]["metadata"]["name"] == f"agent-{labels['controller-revision-hash']}"
    status = env.get(DAEMON_SETS, "agent")["status"]
    assert status["desiredNumberScheduled"] == 3
    assert status["currentNumberScheduled"] == 3
    assert status["numberReady"] == 0
    reasons = [e["reason"] for e in env.objects(EVENTS)]
    assert reasons.count("SuccessfulCreate") == 3
    # pods become ready: the counters follow
    await env.ready_all_pods()
    await env.drive(controller)
    status = env.get(DAEMON_SETS, "agent")["status"]
    assert (status["numberReady"], status["numberAvailable"], status["updatedNumberScheduled"]) == (3, 3, 3)
    assert status["observedGeneration"] == 1


async def test_node_selector_and_new_node(env: Env) -> None:
    labelled = node("n2")
    labelled["metadata"]["labels"]["disk"] = "ssd"
    controller = await setup(env, [node("n1"), labelled], daemonset(nodeSelector=None))
    assert sorted(by_node(env)) == ["n1", "n2"]
    await add_node(env, node("n3"))
    await env.drive(controller)
    assert sorted(by_node(env)) == ["n1", "n2", "n3"]
    # restrict to ssd nodes: the others' pods are deleted
    ds = env.get(DAEMON_SETS, "agent")
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    await env.client.update(DAEMON_SETS, ds)
    await env.drive(controller)
    await env.ready_all_pods()
    await env.drive(controller)
    assert sorted(by_node(env)) == ["n2"]


async def test_noexecute_taint_evicts_noschedule_keeps(env: Env) -> None:
    controller = await setup(env, [node("n1"), node("n2")], daemonset())
    n1 = env.get(NODES, "n1", None)
    n1["spec"]["taints"] = [{"key": "maintenance", "effect": "NoSchedule"}]
    await env.client.update(NODES, n1)
    n2 = env.get(NODES, "n2", None)
    n2["spec"]["taints"] = [{"key": "broken", "effect": "NoExecute"}]
    await env.client.update(NODES, n2)
    await env.drive(controller)
    assert sorted(by_node(env)) == ["n1"]
    status = env.get(DAEMON_SETS, "agent")["status"]
    assert status["desiredNumberScheduled"] == 0 and status["numberMisscheduled"] == 1


async def test_rolling_update_respects_max_unavailable(env: Env) -> None:
    nodes = [node(f"n{i}") for i in range(5)]
    controller = await setup(env, nodes, daemonset(max_unavailable=2))
    await env.ready_all_pods()
    await env.drive(controller)
    ds = env.get(DAEMON_SETS, "agent")
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    await env.client.update(DAEMON_SETS, ds)
    rounds = 0
    while True:
        await env.drive(controller)
        pods = by_node(env)
        ready_nodes = [n for n, p in pods.items() if (p.get("status") or {}).get("phase") == "Running"]
        # at most maxUnavailable nodes without a ready daemon pod, at every step
        assert len(nodes) - len(ready_nodes) <= 2
        if all(image_of(p) == "agent:2" for p in pods.values()) and len(ready_nodes) == len(nodes):
            break
        assert await env.ready_all_pods() > 0
        rounds += 1
        assert rounds < 10
    assert rounds >= 2  # 5 nodes, 2 at a time: needs 3 waves
    status = env.get(DAEMON_SETS, "agent")["status"]
    assert status["updatedNumberScheduled"] == 5 and status["numberAvailable"] == 5
    revisions = sorted(env.objects(CONTROLLER_REVISIONS), key=lambda r: r["revision"])
    assert [r["revision"] for r in revisions] == [1, 2]
    assert revisions[1]["data"]["spec"]["template"]["spec"]["containers"][0]["image"] == "agent:2"
    assert all(p["metadata"]["labels"]["pod-template-generation"] == "2" for p in by_node(env).values())
    reasons = [e["reason"] for e in env.objects(EVENTS)]
    assert reasons.count("SuccessfulDelete") == 5


async def test_rolling_update_with_surge_keeps_old_until_new_ready(env: Env) -> None:
    ds = daemonset(max_unavailable=0)
    ds["spec"]["updateStrategy"]["rollingUpdate"]["maxSurge"] = 1
    controller = await setup(env, [node("n1"), node("n2")], ds)
    await env.ready_all_pods()
    await env.drive(controller)
    ds = env.get(DAEMON_SETS, "agent")
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    await env.client.update(DAEMON_SETS, ds)
    await env.drive(controller)
    images = sorted(image_of(p) for p in pods_of(env, "agent-"))
    assert images == ["agent:1", "agent:1", "agent:2"]  # one surge pod beside its old one
    for _ in range(6):
        await env.ready_all_pods()
        await env.drive(controller)
    assert sorted(image_of(p) for p in pods_of(env, "agent-")) == ["agent:2", "agent:2"]


async def test_on_delete_replaces_only_deleted_pods(env: Env) -> None:
    ds = daemonset()
    ds["spec"]["updateStrategy"] = {"type": "OnDelete"}
    controller = await setup(env, [node("n1"), node("n2")], ds)
    await env.ready_all_pods()
    ds = env.get(DAEMON_SETS, "agent")
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    await env.client.update(DAEMON_SETS, ds)
    await env.drive(controller)
    assert sorted(image_of(p) for p in pods_of(env, "agent-")) == ["agent:1", "agent:1"]
    victim = by_node(env)["n1"]
    await env.client.delete(PODS, victim["metadata"]["name"], "default")
    await env.drive(controller)
    assert image_of(by_node(env)["n1"]) == "agent:2"
    assert image_of(by_node(env)["n2"]) == "agent:1"


async def test_rollback_renumbers_old_revision(env: Env) -> None:
    controller = await setup(env, [node("n1")], daemonset())
    ds = env.get(DAEMON_SETS, "agent")
    original = ds["spec"]["template"]
    ds["spec"]["template"] = pod_template("agent:2", "agent")
    await env.client.update(DAEMON_SETS, ds)
    await env.drive(controller)
    ds = env.get(DAEMON_SETS, "agent")
    ds["spec"]["template"] = original
    await env.client.update(DAEMON_SETS, ds)
    await env.drive(controller)
    revisions = {r["revision"]: r for r in env.objects(CONTROLLER_REVISIONS)}
    assert sorted(revisions) == [2, 3]
    assert revisions[3]["data"]["spec"]["template"]["spec"]["containers"][0]["image"] == "agent:1"


async def test_failed_daemon_pod_is_replaced(env: Env) -> None:
    controller = await setup(env, [node("n1")], daemonset())
    pod = by_node(env)["n1"]
    await env.client.patch(
        PODS, pod["metadata"]["name"], {"status": {"phase": "Failed"}}, "default", subresource="status"
    )
    await env.drive(controller)
    replacement = by_node(env)["n1"]
    assert replacement["metadata"]["name"] != pod["metadata"]["name"]
    assert any(e["reason"] == "FailedDaemonPod" for e in env.objects(EVENTS))


async def test_orphan_pod_is_adopted_instead_of_duplicated(env: Env) -> None:
    await add_node(env, node("n1"))
    controller = DaemonSetController(env.client, env.informers, env.clock)
    await env.start()
    orphan = {
        # pod-template-generation "1" marks it as running the DaemonSet's first template
        # (upstream's legacy check): adopted and kept, not rolled
        "metadata": {"name": "stray", "labels": {"app": "agent", "pod-template-generation": "1"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "agent:1"}]},
    }
    await env.client.create(PODS, orphan, "default")
    await env.client.create(DAEMON_SETS, daemonset(), "default")
    await env.drive(controller)
    pods = pods_of(env, "")
    assert [p["metadata"]["name"] for p in pods] == ["stray"]
    assert pods[0]["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"


async def test_revision_history_is_trimmed(env: Env) -> None:
    controller = await setup(env, [node("n1")], daemonset(revisionHistoryLimit=1))
    for version in range(2, 5):
        ds = env.get(DAEMON_SETS, "agent")
        ds["spec"]["template"] = pod_template(f"agent:{version}", "agent")
        await env.client.update(DAEMON_SETS, ds)
        await env.drive(controller)
        await env.ready_all_pods()
        await env.drive(controller)
    revisions = sorted(r["revision"] for r in env.objects(CONTROLLER_REVISIONS))
    assert revisions == [3, 4]  # the current one plus revisionHistoryLimit old ones
