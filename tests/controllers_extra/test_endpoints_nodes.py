from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from litekube.client.base import JSON
from litekube.controllers.endpoints import ENDPOINTS, EndpointsController
from litekube.controllers.endpoints.controller import SERVICES
from litekube.controllers.endpointslice import ENDPOINT_SLICES, EndpointSliceController
from litekube.controllers.nodelifecycle import NodeLifecycleController
from litekube.controllers.workloads_extra import build_extra_controllers
from litekube.node.simulated import SimulatedNodes
from litekube.scheduler import Scheduler
from litekube.scheduler.scheduler import NODES, PODS
from tests.controllers_extra.harness import Harness, new_harness


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    h = new_harness()
    sim = SimulatedNodes(h.client, h.clock, 2, informers=h.informers)
    h.sim = sim  # type: ignore[attr-defined]
    h.controllers += [
        EndpointsController(h.client, h.informers, h.clock),
        EndpointSliceController(h.client, h.informers, h.clock),
        NodeLifecycleController(h.client, h.informers, h.clock),
        Scheduler(h.client, h.informers, h.clock),
        sim.pods,
    ]
    await sim.add_nodes(2)
    h.informers.start()
    await h.informers.wait_for_sync()
    yield h
    await h.stop()


def pod(name: str) -> JSON:
    container = {"name": "web", "image": "nginx:1.21", "ports": [{"name": "http", "containerPort": 80}]}
    return {"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {"containers": [container]}}


async def test_endpoints_follow_readiness(h: Harness) -> None:
    svc = {
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    await h.client.create(SERVICES, svc, "default")
    for name in ("a", "b"):
        await h.client.create(PODS, pod(name), "default")
    await h.run()
    running = h.fake.objects(PODS, "default")
    assert all(
        p["status"]["phase"] == "Running" and p["status"]["podIP"].startswith("10.244.") for p in running
    )
    eps = h.fake.get_object(ENDPOINTS, "default", "web")
    assert eps is not None
    subset = eps["subsets"][0]
    assert sorted(a["targetRef"]["name"] for a in subset["addresses"]) == ["a", "b"]
    assert subset["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]
    assert all(a["nodeName"].startswith("sim-node-") for a in subset["addresses"])
    slices = h.fake.objects(ENDPOINT_SLICES, "default")
    assert len(slices) == 1 and slices[0]["metadata"]["name"].startswith("web-")
    assert slices[0]["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert (
        slices[0]["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
        == "endpointslice-controller.k8s.io"
    )
    assert slices[0]["addressType"] == "IPv4" and len(slices[0]["endpoints"]) == 2
    # pod a becomes not ready
    a = h.fake.get_object(PODS, "default", "a")
    assert a is not None
    for cond in a["status"]["conditions"]:
        if cond["type"] == "Ready":
            cond["status"] = "False"
    await h.client.update_status(PODS, a)
    await h.run()
    eps = h.fake.get_object(ENDPOINTS, "default", "web")
    assert eps is not None
    assert [x["targetRef"]["name"] for x in eps["subsets"][0]["notReadyAddresses"]] == ["a"]
    assert [x["targetRef"]["name"] for x in eps["subsets"][0]["addresses"]] == ["b"]
    conditions = {
        e["targetRef"]["name"]: e["conditions"]
        for e in h.fake.objects(ENDPOINT_SLICES, "default")[0]["endpoints"]
    }
    assert conditions["a"] == {"ready": False, "serving": False, "terminating": False}
    assert conditions["b"] == {"ready": True, "serving": True, "terminating": False}


async def test_dead_node_goes_unknown_and_pods_are_evicted(h: Harness) -> None:
    await h.client.create(
        PODS, {**pod("p"), "spec": {**pod("p")["spec"], "nodeName": "sim-node-0"}}, "default"
    )
    await h.run()
    sim: SimulatedNodes = h.sim  # type: ignore[attr-defined]
    sim.stop_heartbeats("sim-node-0")
    for _ in range(5):  # 50 s of heartbeats for the other node only
        await sim.heartbeat(update_status=False)
        await h.advance(10, step=5)
    node = h.fake.get_object(NODES, None, "sim-node-0")
    assert node is not None
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }
    live = h.fake.get_object(NODES, None, "sim-node-1")
    assert live is not None and "taints" not in live["spec"]
    assert h.fake.get_object(PODS, "default", "p") is not None
    await h.advance(300, step=30)
    gone = h.fake.get_object(PODS, "default", "p")
    assert gone is None or gone["metadata"].get("deletionTimestamp")


def test_build_extra_controllers() -> None:
    h = new_harness()
    names = [c.name for c in build_extra_controllers(h.client, h.informers, h.clock)]
    assert names == [
        "job-controller",
        "cronjob-controller",
        "endpoints-controller",
        "endpointslice-controller",
        "node-lifecycle-controller",
        "default-scheduler",
    ]
