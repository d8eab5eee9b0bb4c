from __future__ import annotations

import asyncio

import pytest

from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.controllers.manager import ControllerManager
from litekube.controllers.resources import DEPLOYMENTS, NAMESPACES, PODS, REPLICA_SETS, SERVICE_ACCOUNTS
from litekube.machinery.clock import FakeClock
from tests.controllers.deployment_helpers import deployment_body


async def wait_for(condition: object, fake: FakeTransport, turns: int = 2000) -> None:
    for _ in range(turns):
        if condition():  # type: ignore[operator]
            return
        await fake.settle()
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_manager_runs_controllers_with_workers_over_shared_informers() -> None:
    clock = FakeClock()
    fake = FakeTransport(clock)
    client = Client(fake)
    await client.create(NAMESPACES, {"metadata": {"name": "default"}})
    manager = ControllerManager(client, clock)
    await manager.start()
    try:
        assert set(manager.controllers) == {
            "deployment",
            "replicaset",
            "replicationcontroller",
            "garbagecollector",
            "namespace",
            "serviceaccount",
        }
        # one informer per type, however many controllers watch it
        rts = [inf.rt for inf in manager.informers.informers]
        assert len(rts) == len(set(rts))
        await client.create(DEPLOYMENTS, deployment_body())
        await wait_for(lambda: len(fake.objects(PODS, "default")) == 3, fake)
        await wait_for(lambda: len(fake.objects(SERVICE_ACCOUNTS, "default")) == 1, fake)
        await client.delete(DEPLOYMENTS, "web", "default", propagation_policy="Background")
        await wait_for(lambda: not fake.objects(PODS, "default") and not fake.objects(REPLICA_SETS), fake)
    finally:
        await manager.stop()


def test_unknown_controller_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown controllers: nope"):
        ControllerManager(Client(FakeTransport()), FakeClock(), enabled=["nope"])
