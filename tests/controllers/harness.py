"""Test harness: a FakeTransport API, a FakeClock, shared informers, and a pretend kubelet.

`Env.drive(*controllers)` alternates "let informers catch up with the fake" and "process
every queued key" until nothing is left, so a test reads like a cluster that settled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from litekube.api.resources import ResourceType
from litekube.client.base import JSON, Client
from litekube.client.fake import FakeTransport
from litekube.controllers.resources import PODS
from litekube.machinery.clock import FakeClock, rfc3339
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory


@dataclass
class Env:
    clock: FakeClock = field(default_factory=FakeClock)
    fake: FakeTransport = field(init=False)
    client: Client = field(init=False)
    informers: InformerFactory = field(init=False)

    def __post_init__(self) -> None:
        self.fake = FakeTransport(self.clock)
        self.client = Client(self.fake)
        self.informers = InformerFactory(self.client, self.clock)

    async def start(self) -> None:
        self.informers.start()
        await self.informers.wait_for_sync()
        await self.fake.settle()

    async def stop(self) -> None:
        await self.informers.stop()

    async def drive(self, *controllers: Controller, rounds: int = 200) -> int:
        """Process queued keys until every controller's queue stays empty; returns syncs run."""
        total = 0
        for _ in range(rounds):
            await self.fake.settle()
            progressed = False
            for c in controllers:
                while await c.process_next():
                    progressed = True
                    total += 1
            if not progressed:
                return total
        raise AssertionError("controllers did not settle")

    async def advance(self, seconds: float, *controllers: Controller) -> None:
        """Move the fake clock and let delayed requeues fire and be processed."""
        self.clock.advance(seconds)
        for _ in range(3):
            await self.fake.settle()
        await self.drive(*controllers)

    def objects(self, rt: ResourceType, namespace: str | None = "default") -> list[JSON]:
        return self.fake.objects(rt, namespace)

    def get(self, rt: ResourceType, name: str, namespace: str | None = "default") -> JSON:
        obj = self.fake.get_object(rt, namespace, name)
        assert obj is not None, f"{rt.plural}/{name} not found"
        return obj

    # --- a pretend kubelet: only ever writes pod status ----------------------------------

    async def set_pod_ready(self, pod: JSON, ready: bool = True, restarts: int = 0) -> JSON:
        now = rfc3339(self.clock.now())
        status = {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            ],
            "containerStatuses": [{"name": "c", "ready": ready, "restartCount": restarts}],
        }
        meta = pod["metadata"]
        return await self.client.patch(
            PODS, meta["name"], {"status": status}, meta["namespace"], subresource="status"
        )

    async def ready_all_pods(self, namespace: str = "default") -> int:
        """Mark every pod that is not Ready yet as Running and Ready; returns how many."""
        count = 0
        for pod in self.fake.objects(PODS, namespace):
            conditions = (pod.get("status") or {}).get("conditions") or []
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                await self.set_pod_ready(pod)
                count += 1
        return count
