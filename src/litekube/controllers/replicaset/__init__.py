"""ReplicaSet controller (also serves ReplicationControllers); see controller.py for the flow."""

from litekube.controllers.replicaset.controller import (
    ReplicaSetController,
    pod_from_template,
    slow_start_batch,
)

__all__ = ["ReplicaSetController", "pod_from_template", "slow_start_batch"]
