"""Container runtime: the `Runtime` seam, runc+conmon behind it, and a fake beside it."""

from litekube.node.runtime.base import ContainerNotFound, Runtime, RuntimeFailure, Sink
from litekube.node.runtime.types import (
    ContainerConfig,
    ContainerState,
    ContainerStatus,
    Mount,
    Resources,
    Security,
    User,
    new_container_id,
    resolve_command,
    resources_from_millis,
)

__all__ = [
    "ContainerConfig",
    "ContainerNotFound",
    "ContainerState",
    "ContainerStatus",
    "Mount",
    "Resources",
    "Runtime",
    "RuntimeFailure",
    "Security",
    "Sink",
    "User",
    "new_container_id",
    "resolve_command",
    "resources_from_millis",
]
