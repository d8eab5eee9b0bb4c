"""ReplicationController: the ReplicaSet controller on another type (upstream's "replication manager").

Only three things differ, all handled by `ReplicaSetController`: the resource type, the
selector (a plain label map, defaulting to the template's labels) and the event source
component ("replication-controller").
"""

from __future__ import annotations

from litekube.client.base import Client
from litekube.controllers.replicaset import ReplicaSetController
from litekube.controllers.resources import REPLICATION_CONTROLLERS
from litekube.machinery.clock import Clock
from litekube.machinery.informer import InformerFactory


class ReplicationManager(ReplicaSetController):
    def __init__(self, client: Client, informers: InformerFactory, clock: Clock, workers: int = 5) -> None:
        super().__init__(
            client,
            informers,
            clock,
            rt=REPLICATION_CONTROLLERS,
            workers=workers,
            component="replication-controller",
        )


__all__ = ["ReplicationManager"]
