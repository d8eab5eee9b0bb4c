"""Registering the batch, endpoints and node controllers and the scheduler with the manager.

`build_extra_controllers(client, informers, clock)` returns controllers sharing the
manager's `InformerFactory`; start them as the manager starts its own (`await c.start()`
after `informers.start()`). Simulated nodes are not a controller: see
`litekube.node.simulated.SimulatedNodes`.
"""

from __future__ import annotations

from litekube.client.base import Client
from litekube.controllers.cronjob import CronJobController
from litekube.controllers.endpoints import EndpointsController
from litekube.controllers.endpointslice import EndpointSliceController
from litekube.controllers.job import JobController
from litekube.controllers.nodelifecycle import NodeLifecycleController
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory
from litekube.scheduler import Scheduler


def build_extra_controllers(
    client: Client,
    informers: InformerFactory,
    clock: Clock,
    api_address: str = "127.0.0.1",
    api_port: int = 6443,
    scheduler: bool = True,
    node_grace_period: float = 40.0,
    pod_eviction_timeout: float = 300.0,
) -> list[Controller]:
    controllers: list[Controller] = [
        JobController(client, informers, clock),
        CronJobController(client, informers, clock),
        EndpointsController(client, informers, clock, api_address=api_address, api_port=api_port),
        EndpointSliceController(client, informers, clock),
        NodeLifecycleController(
            client, informers, clock, grace_period=node_grace_period, eviction_timeout=pod_eviction_timeout
        ),
    ]
    if scheduler:
        controllers.append(Scheduler(client, informers, clock))
    return controllers
