"""ControllerManager: run the controllers over one set of shared informers.

    ControllerManager(client, clock)
      ├─ InformerFactory: one list+watch per resource type, shared by every controller
      └─ controllers, built by name from CONTROLLER_FACTORIES (plus any `extra` ones)

`start()` builds the enabled controllers (each registers its handlers on the shared
informers), starts the informers, waits until every cache has synced — a controller that
acted on a half-filled cache would, say, create pods that already exist — and then starts
each controller's workers. `stop()` stops workers first, then the informers.

Other components add their controllers with `extra={"job": JobController, ...}`: any
callable `(client, informers, clock) -> Controller`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from litekube.client.base import Client
from litekube.controllers.deployment import DeploymentController
from litekube.controllers.garbagecollector import GarbageCollector
from litekube.controllers.namespace import NamespaceController
from litekube.controllers.replicaset import ReplicaSetController
from litekube.controllers.replicationcontroller import ReplicationManager
from litekube.controllers.serviceaccount import ServiceAccountsController
from litekube.machinery.clock import Clock, RealClock
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory

log = logging.getLogger(__name__)

ControllerFactory = Callable[[Client, InformerFactory, Clock], Controller]

CONTROLLER_FACTORIES: dict[str, ControllerFactory] = {
    "deployment": DeploymentController,
    "replicaset": ReplicaSetController,
    "replicationcontroller": ReplicationManager,
    "garbagecollector": GarbageCollector,
    "namespace": NamespaceController,
    "serviceaccount": ServiceAccountsController,
}


class ControllerManager:
    def __init__(
        self,
        client: Client,
        clock: Clock | None = None,
        enabled: Iterable[str] | None = None,
        extra: Mapping[str, ControllerFactory] | None = None,
        informers: InformerFactory | None = None,
    ) -> None:
        self.client = client
        self.clock: Clock = clock or RealClock()
        self.informers = informers or InformerFactory(client, self.clock)
        self.factories: dict[str, ControllerFactory] = {**CONTROLLER_FACTORIES, **(extra or {})}
        names = list(enabled) if enabled is not None else list(self.factories)
        unknown = [n for n in names if n not in self.factories]
        if unknown:
            raise ValueError(f"unknown controllers: {', '.join(unknown)}")
        self.enabled = names
        self.controllers: dict[str, Controller] = {}
        self._running = False

    def build(self) -> None:
        """Construct the enabled controllers (registers their informer handlers); idempotent."""
        for name in self.enabled:
            if name not in self.controllers:
                self.controllers[name] = self.factories[name](self.client, self.informers, self.clock)

    async def start(self) -> None:
        if self._running:
            return
        self.build()
        self.informers.start()
        await self.informers.wait_for_sync()
        for name, controller in self.controllers.items():
            log.info("starting %s (%d workers)", name, controller.workers)
            await controller.start()
        self._running = True

    async def stop(self) -> None:
        for controller in self.controllers.values():
            await controller.stop()
        await self.informers.stop()
        self._running = False
