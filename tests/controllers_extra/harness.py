"""A fake API, fake clock, shared informers and helpers to drive controllers to quiescence."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from litekube.client.base import Client
from litekube.machinery.clock import FakeClock
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory
from tests.scheduler.fakes import BindingFakeTransport

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seed" / "manifests"


@dataclass
class Harness:
    fake: BindingFakeTransport
    client: Client
    clock: FakeClock
    informers: InformerFactory
    controllers: list[Controller] = field(default_factory=list)

    async def run(self, rounds: int = 200) -> None:
        """Process queued keys of every controller until all queues are empty."""
        for _ in range(rounds):
            await self.fake.settle()
            progressed = False
            for c in self.controllers:
                progressed = await c.process_next() or progressed
            if not progressed:
                await self.fake.settle()
                if not any(len(c.queue) for c in self.controllers):
                    return

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        """Move the fake clock in steps, letting delayed keys fire and be processed."""
        elapsed = 0.0
        while elapsed < seconds:
            self.clock.advance(step)
            elapsed += step
            await self.fake.settle()
            await self.run()

    async def stop(self) -> None:
        for c in self.controllers:
            c.queue.shutdown()
        await self.informers.stop()


def new_harness() -> Harness:
    clock = FakeClock()
    fake = BindingFakeTransport(clock)
    client = Client(fake)
    return Harness(fake, client, clock, InformerFactory(client, clock))


def seed_docs(name: str) -> list[dict]:  # type: ignore[type-arg]
    return [d for d in yaml.safe_load_all((SEED / name).read_text()) if d]
