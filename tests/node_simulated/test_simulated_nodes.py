from __future__ import annotations

import asyncio

from litekube.client.base import Client
from litekube.machinery.clock import FakeClock
from litekube.node.simulated import SimulatedNodes, add_simulated_nodes
from litekube.node.simulated.nodes import LEASES, NODES
from tests.scheduler.fakes import BindingFakeTransport


async def test_nodes_register_with_status_and_leases_renew() -> None:
    clock = FakeClock()
    fake = BindingFakeTransport(clock)
    sim = SimulatedNodes(Client(fake), clock, 3)
    await sim.start()
    try:
        nodes = fake.objects(NODES)
        assert [n["metadata"]["name"] for n in nodes] == ["sim-node-0", "sim-node-1", "sim-node-2"]
        status = nodes[0]["status"]
        assert status["allocatable"] == {
            "cpu": "32",
            "memory": "256Gi",
            "pods": "110",
            "ephemeral-storage": "1Ti",
        }
        conds = {c["type"]: c for c in status["conditions"]}
        assert conds["Ready"]["status"] == "True" and conds["Ready"]["reason"] == "KubeletReady"
        assert conds["MemoryPressure"]["reason"] == "KubeletHasSufficientMemory"
        assert status["nodeInfo"]["kubeletVersion"] == "v1.36.4"
        assert status["nodeInfo"]["containerRuntimeVersion"] == "litekube-sim://0.1"
        assert status["addresses"][0] == {"type": "InternalIP", "address": "10.250.0.1"}
        assert nodes[1]["spec"]["podCIDR"] == "10.244.2.0/24"
        first = fake.get_object(LEASES, "kube-node-lease", "sim-node-0")
        assert first is not None and first["spec"]["holderIdentity"] == "sim-node-0"
        sim.stop_heartbeats("sim-node-1")
        await asyncio.sleep(0)  # let the heartbeat loop reach its first sleep
        clock.advance(10)
        await fake.settle()
        for _ in range(20):
            await fake.settle()
        renewed = fake.get_object(LEASES, "kube-node-lease", "sim-node-0")
        stale = fake.get_object(LEASES, "kube-node-lease", "sim-node-1")
        assert renewed is not None and stale is not None
        assert renewed["spec"]["renewTime"] > first["spec"]["renewTime"]
        assert stale["spec"]["renewTime"] == first["spec"]["renewTime"]
        added = await add_simulated_nodes(sim, 2)
        assert added == ["sim-node-3", "sim-node-4"]
    finally:
        await sim.stop()
