from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from litekube.client.base import JSON, Client
from litekube.machinery.clock import FakeClock
from litekube.machinery.informer import InformerFactory
from litekube.node.simulated.status import node_object, node_status
from litekube.scheduler import Scheduler
from litekube.scheduler.filters import fit_error_message
from litekube.scheduler.scheduler import NODES, PODS
from tests.scheduler.fakes import BindingFakeTransport


@dataclass
class Env:
    fake: BindingFakeTransport
    client: Client
    clock: FakeClock
    informers: InformerFactory
    scheduler: Scheduler

    async def run(self) -> None:
        for _ in range(50):
            await self.fake.settle()
            if not await self.scheduler.process_next():
                await self.fake.settle()
                if self.scheduler.queue.idle and not len(self.scheduler.queue):
                    return

    async def add_node(self, name: str, index: int, cpu: str = "4", **extra: JSON) -> None:
        node = node_object(name, index)
        node["spec"].update(extra.get("spec", {}))
        node["metadata"]["labels"].update(extra.get("labels", {}))
        created = await self.client.create(NODES, node)
        created["status"] = node_status(name, index, self.clock.now(), self.clock.now())
        created["status"]["allocatable"]["cpu"] = cpu
        await self.client.update_status(NODES, created)

    async def add_pod(self, name: str, cpu: str | None = None, **spec: object) -> None:
        container: JSON = {"name": "c", "image": "nginx"}
        if cpu:
            container["resources"] = {"requests": {"cpu": cpu}}
        await self.client.create(
            PODS, {"metadata": {"name": name}, "spec": {"containers": [container], **spec}}, "default"
        )

    def node_of(self, name: str) -> str | None:
        pod = self.fake.get_object(PODS, "default", name)
        assert pod is not None
        return pod["spec"].get("nodeName")  # type: ignore[no-any-return]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = FakeClock()
    fake = BindingFakeTransport(clock)
    client = Client(fake)
    informers = InformerFactory(client, clock)
    scheduler = Scheduler(client, informers, clock)
    informers.start()
    await informers.wait_for_sync()
    yield Env(fake, client, clock, informers, scheduler)
    await informers.stop()
    scheduler.queue.shutdown()


async def test_least_allocated_node_wins(env: Env) -> None:
    for i in range(3):
        await env.add_node(f"n{i}", i)
    await env.add_pod("big-a", cpu="3", nodeName="n0")
    await env.add_pod("big-b", cpu="2", nodeName="n1")
    await env.add_pod("new", cpu="500m")
    await env.run()
    assert env.node_of("new") == "n2"
    events = [w.body for w in env.fake.writes_to("events", "POST")]
    assert any(
        e["reason"] == "Scheduled" and e["message"] == "Successfully assigned default/new to n2"
        for e in events
    )


async def test_insufficient_cpu_everywhere(env: Env) -> None:
    for i in range(3):
        await env.add_node(f"n{i}", i)
    await env.add_pod("huge", cpu="64")
    await env.run()
    pod = env.fake.get_object(PODS, "default", "huge")
    assert pod is not None and not pod["spec"].get("nodeName")
    cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"
    assert cond["message"].startswith("0/3 nodes are available: 3 Insufficient cpu.")
    assert cond["message"] == (
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod.."
    )
    failed = [w.body for w in env.fake.writes_to("events", "POST") if w.body["reason"] == "FailedScheduling"]
    assert len(failed) == 1 and failed[0]["type"] == "Warning"
    # a bigger node arrives: the pod is retried and placed there
    await env.add_node("big", 9, cpu="128")
    await env.run()
    assert env.node_of("huge") == "big"


async def test_node_selector_and_taints(env: Env) -> None:
    await env.add_node("plain", 0)
    await env.add_node(
        "gpu",
        1,
        labels={"gpu": "yes"},
        spec={"taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]},
    )
    await env.add_pod("wants-gpu", nodeSelector={"gpu": "yes"})
    await env.add_pod(
        "tolerates", nodeSelector={"gpu": "yes"}, tolerations=[{"key": "gpu", "operator": "Exists"}]
    )
    await env.run()
    assert env.node_of("wants-gpu") is None
    assert env.node_of("tolerates") == "gpu"
    pod = env.fake.get_object(PODS, "default", "wants-gpu")
    assert pod is not None
    message = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")["message"]
    assert message == (
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {gpu: yes}. preemption: 0/2 nodes are available: "
        "2 Preemption is not helpful for scheduling.."
    )


async def test_required_affinity_host_ports_and_unschedulable(env: Env) -> None:
    await env.add_node("a", 0, labels={"zone": "z1", "rank": "5"})
    await env.add_node("b", 1, labels={"zone": "z2", "rank": "1"}, spec={"unschedulable": True})
    await env.add_node("c", 2, labels={"zone": "z3", "rank": "9"})
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "rank", "operator": "Gt", "values": ["3"]},
                            {"key": "zone", "operator": "NotIn", "values": ["z3"]},
                        ]
                    }
                ]
            }
        }
    }
    await env.add_pod("aff", affinity=affinity)
    port_container = {"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]}
    await env.add_pod("p1", containers=[port_container], nodeName="c")
    await env.add_pod("p2", containers=[port_container], nodeName="a")
    await env.add_pod("p3", containers=[port_container])
    await env.run()
    assert env.node_of("aff") == "a"
    pod = env.fake.get_object(PODS, "default", "p3")
    assert pod is not None and env.node_of("p3") is None
    message = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")["message"]
    assert "2 node(s) didn't have free ports for the requested pod ports" in message
    assert "1 node(s) were unschedulable" in message


async def test_spreads_pods_of_one_owner_and_assumes_before_cache(env: Env) -> None:
    for i in range(3):
        await env.add_node(f"n{i}", i)
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", "controller": True}]
    for i in range(6):
        await env.client.create(
            PODS,
            {
                "metadata": {"name": f"r{i}", "ownerReferences": owner},
                "spec": {"containers": [{"name": "c"}]},
            },
            "default",
        )
    # process keys without letting the informer see bindings between them
    while await env.scheduler.process_next():
        pass
    placed = [env.node_of(f"r{i}") for i in range(6)]
    assert sorted(placed) == ["n0", "n0", "n1", "n1", "n2", "n2"]


def test_message_with_no_nodes() -> None:
    assert fit_error_message(0, []) == "no nodes available to schedule pods"


async def test_finished_pod_frees_capacity(env: Env) -> None:
    await env.add_node("only", 0, cpu="1")
    await env.add_pod("first", cpu="1", nodeName="only")
    await env.add_pod("second", cpu="1")
    await env.run()
    assert env.node_of("second") is None
    first = env.fake.get_object(PODS, "default", "first")
    assert first is not None
    first["status"] = {"phase": "Succeeded"}
    await env.client.update_status(PODS, first)
    await env.run()
    assert env.node_of("second") == "only"
    await asyncio.sleep(0)
