"""What `litekube server` runs beside the API server, each a component with a stop function.

    controllers  ControllerManager: deployment, replicaset, replicationcontroller, garbage
                 collector, namespace, serviceaccount, job, cronjob, endpoints (and the
                 `kubernetes` Service's, at the advertise address), endpointslice,
                 endpointslice mirroring, node lifecycle, daemonset, statefulset, ttl-after-finished,
                 and the scheduler, over shared informers
    simulated    kwok-style simulated nodes (`--simulated-nodes N`)

Every component reaches the API through `server.local_client()`: the in-process transport
(apiserver/inprocess.py), the same verbs and checks as HTTP without HTTP or JSON text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litekube.apiserver.server import APIServer
from litekube.cli.server import register_component
from litekube.client.base import Client
from litekube.controllers.cronjob import CronJobController
from litekube.controllers.daemonset import DaemonSetController
from litekube.controllers.endpoints import EndpointsController
from litekube.controllers.endpointslice import EndpointSliceController
from litekube.controllers.endpointslicemirroring import EndpointSliceMirroringController
from litekube.controllers.job import JobController
from litekube.controllers.manager import ControllerFactory, ControllerManager
from litekube.controllers.nodelifecycle import NodeLifecycleController
from litekube.controllers.rootcacert import RootCACertPublisher
from litekube.controllers.statefulset import StatefulSetController
from litekube.controllers.ttlafterfinished import TTLAfterFinishedController
from litekube.machinery.clock import Clock, RealClock
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory
from litekube.node.simulated import SimulatedNodes
from litekube.scheduler import Scheduler

Stop = Callable[[], Awaitable[None]]


def extra_factories(server: APIServer) -> dict[str, ControllerFactory]:
    port = server.config.port
    # the `kubernetes` Service points where pods can reach us: the node IP for 0.0.0.0
    address = server.advertise_address

    def endpoints(client: Client, informers: InformerFactory, clock: Clock) -> Controller:
        return EndpointsController(client, informers, clock, api_address=address, api_port=port)

    assert server.pki is not None
    ca_pem = server.pki.ca_cert.read_text()

    def root_ca(client: Client, informers: InformerFactory, clock: Clock) -> Controller:
        return RootCACertPublisher(client, informers, clock, ca_pem)

    return {
        "job": JobController,
        "cronjob": CronJobController,
        "endpoints": endpoints,
        "endpointslice": EndpointSliceController,
        "endpointslicemirroring": EndpointSliceMirroringController,
        "nodelifecycle": NodeLifecycleController,
        "scheduler": Scheduler,
        "daemonset": DaemonSetController,
        "statefulset": StatefulSetController,
        "ttlafterfinished": TTLAfterFinishedController,
        "rootcacertpublisher": root_ca,
    }


async def start_controllers(server: APIServer, options: dict[str, object]) -> Stop:
    client = server.local_client()
    clock = RealClock()
    manager = ControllerManager(client, clock, extra=extra_factories(server))
    await manager.start()
    simulated: SimulatedNodes | None = None
    count = int(options.get("simulated_nodes") or 0)  # type: ignore[call-overload]
    if count > 0:
        simulated = SimulatedNodes(client, clock, count, informers=manager.informers)
        await simulated.start()

    async def stop() -> None:
        if simulated is not None:
            await simulated.stop()
        await manager.stop()
        await client.close()

    return stop


register_component("controllers", start_controllers)
