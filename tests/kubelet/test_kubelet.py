"""The Kubelet object end to end on fakes: registration, Lease, informer-driven pods, shutdown, adoption."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litekube.api.resources import lookup
from litekube.node.kubelet.kubelet import Kubelet
from tests.kubelet.fakes import PODS, Harness, build_harness

NODES = lookup("", "v1", "nodes")
LEASES = lookup("coordination.k8s.io", "v1", "leases")
assert NODES is not None and LEASES is not None


async def wait_for(predicate, turns: int = 3000) -> None:  # type: ignore[no-untyped-def]
    for _ in range(turns):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def phase(h: Harness, name: str) -> str | None:
    pod = h.pod(name)
    return (pod or {}).get("status", {}).get("phase")


async def test_registration_and_lease(harness: Harness) -> None:
    await harness.kubelet.start()
    try:
        node = harness.transport.get_object(NODES, None, "node-1")
        assert node is not None
        assert node["spec"]["podCIDR"] == "10.244.0.0/24"
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
        status = node["status"]
        assert status["capacity"]["pods"] == "110" and status["allocatable"]["cpu"] == "3900m"
        assert status["addresses"] == [
            {"type": "InternalIP", "address": "192.168.1.10"},
            {"type": "Hostname", "address": "node-1"},
        ]
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        )
        info = status["nodeInfo"]
        assert info["kubeletVersion"] == "v1.36.4" and info["containerRuntimeVersion"] == "runc://1.1.12"
        lease = harness.transport.get_object(LEASES, "kube-node-lease", "node-1")
        assert lease is not None and lease["spec"]["holderIdentity"] == "node-1"
        first = lease["spec"]["renewTime"]
        for _ in range(20):
            await asyncio.sleep(0)  # the heartbeat loop reaches its sleep
        harness.clock.advance(10)
        await wait_for(
            lambda: (
                harness.transport.get_object(LEASES, "kube-node-lease", "node-1")["spec"]["renewTime"]
                != first
            )
        )
    finally:
        await harness.kubelet.stop()


async def test_pods_bound_here_run_and_shutdown_leaves_nothing(harness: Harness) -> None:
    await harness.kubelet.start()
    await harness.create_pod(
        {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.21"}]}}
    )
    await harness.create_pod(
        {
            "metadata": {"name": "elsewhere"},
            "spec": {"nodeName": "node-2", "containers": [{"name": "c", "image": "busybox"}]},
        }
    )
    await wait_for(lambda: phase(harness, "web") == "Running")
    assert phase(harness, "elsewhere") == "Pending"  # not ours: the field selector filters it
    found = harness.kubelet.find_container("default", "web", "nginx")
    assert found is not None
    container_id, status = found
    assert container_id in harness.runtime.containers and status.state == "running"
    assert harness.kubelet.find_container("default", "web", "nope") is None
    log = harness.kubelet.log_path("default", "web", "nginx")
    assert log is not None and log.name == "0.log" and log.parent.name == "nginx"
    assert harness.kubelet.log_path("default", "web", "nginx", previous=True) is None
    await harness.kubelet.stop()
    assert harness.runtime.containers == {}
    assert harness.network.pods == {} and ("cleanup_all", "") in harness.network.calls
    assert not (harness.data_dir / "pods").exists() or list((harness.data_dir / "pods").iterdir()) == []


async def test_deleting_a_pod_through_the_api_terminates_it(harness: Harness) -> None:
    await harness.kubelet.start()
    try:
        await harness.create_pod(
            {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.21"}]}}
        )
        await wait_for(lambda: phase(harness, "web") == "Running")
        await harness.client.delete(PODS, "web", "default")
        await wait_for(lambda: harness.pod("web") is None)
        await wait_for(lambda: harness.runtime.containers == {})
        assert harness.network.pods == {}
    finally:
        await harness.kubelet.stop()


async def test_restart_adopts_running_containers_without_duplicates(harness: Harness, tmp_path: Path) -> None:
    await harness.kubelet.start()
    await harness.create_pod(
        {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.21"}]}}
    )
    await wait_for(lambda: phase(harness, "web") == "Running")
    before = set(harness.runtime.containers)
    await harness.kubelet.stop(cleanup=False)
    assert set(harness.runtime.containers) == before  # still running
    again = Kubelet(
        harness.client,
        harness.data_dir,
        "node-1",
        harness.runtime,
        harness.network,
        harness.images,
        clock=harness.clock,
        prober=harness.prober,
        mounter=harness.mounter,
        rootfs=harness.kubelet.ctx.rootfs,
        host_ip="192.168.1.10",
        capacity=(harness.kubelet.capacity, harness.kubelet.allocatable),
    )
    await again.start()
    try:
        await wait_for(lambda: again.find_container("default", "web", "nginx") is not None)
        for _ in range(50):
            await asyncio.sleep(0)
        assert set(harness.runtime.containers) == before
        assert again.find_container("default", "web", "nginx")[0] in before  # type: ignore[index]
    finally:
        await again.stop()
    assert harness.runtime.containers == {}


async def test_leftovers_of_pods_no_longer_bound_are_removed(tmp_path: Path) -> None:
    first = build_harness(tmp_path / "data")
    await first.kubelet.start()
    pod = await first.create_pod(
        {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.21"}]}}
    )
    await wait_for(lambda: phase(first, "web") == "Running")
    await first.kubelet.stop(cleanup=False)
    # the pod vanished while the agent was down (force-deleted)
    await first.client.delete(PODS, "web", "default", grace_period_seconds=0)
    again = Kubelet(
        first.client,
        first.data_dir,
        "node-1",
        first.runtime,
        first.network,
        first.images,
        clock=first.clock,
        prober=first.prober,
        mounter=first.mounter,
        rootfs=first.kubelet.ctx.rootfs,
        host_ip="192.168.1.10",
        capacity=(first.kubelet.capacity, first.kubelet.allocatable),
    )
    await again.start()
    try:
        assert first.runtime.containers == {}
        assert pod["metadata"]["uid"] not in first.network.pods
        assert not (first.data_dir / "pods" / pod["metadata"]["uid"]).exists()
    finally:
        await again.stop()
