"""What every pod worker shares (`NodeContext`) and what one pod worker remembers.

`NodeContext` holds the seams (API client, runtime, network, images, rootfs, prober,
mounter, clock) and node facts; the real ones are chosen by `build_kubelet`, tests pass
fakes. `ContainerRecord` is one container instance the runtime holds for a pod; a pod
keeps per container name its `current` instance and the `previous` one (for lastState
and `kubectl logs --previous`); older instances are removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from litekube.client.base import Client
from litekube.machinery.clock import Clock
from litekube.machinery.events import EventRecorder
from litekube.node.images import ImageInfo
from litekube.node.kubelet.backoff import Backoff
from litekube.node.kubelet.probes import Prober, ProbeWorker
from litekube.node.kubelet.volumes import Mounter
from litekube.node.network.base import PodNetwork
from litekube.node.runtime.base import Runtime
from litekube.node.runtime.types import ContainerStatus

JSON = dict[str, Any]
Fetch = Callable[[str, str, str], Awaitable[JSON | None]]


class Images(Protocol):
    """The part of `ImageService` (and `FakeImageService`) the kubelet uses."""

    def get(self, ref: str) -> ImageInfo | None: ...

    async def ensure_image(
        self, ref: str, pull_policy: str, pull_secrets: dict[str, tuple[str, str]] | None = None
    ) -> ImageInfo: ...


class Rootfs(Protocol):
    """Container root filesystems: overlay mounts for real, plain directories in tests."""

    def mount(self, image: ImageInfo, container_dir: Path) -> Path: ...

    def unmount(self, container_dir: Path) -> None: ...


class OverlayRootfs:
    def mount(self, image: ImageInfo, container_dir: Path) -> Path:
        from litekube.node.images import mount_rootfs

        return mount_rootfs(image, container_dir)

    def unmount(self, container_dir: Path) -> None:
        from litekube.node.images import unmount_rootfs

        unmount_rootfs(container_dir)


class DirectoryRootfs:
    """For unit tests: an empty directory stands in for the image's files."""

    def __init__(self) -> None:
        self.mounted: set[Path] = set()

    def mount(self, image: ImageInfo, container_dir: Path) -> Path:
        rootfs = container_dir / "rootfs"
        rootfs.mkdir(parents=True, exist_ok=True)
        self.mounted.add(container_dir)
        return rootfs

    def unmount(self, container_dir: Path) -> None:
        self.mounted.discard(container_dir)


@dataclass
class NodeContext:
    client: Client
    runtime: Runtime
    network: PodNetwork
    images: Images
    rootfs: Rootfs
    prober: Prober
    mounter: Mounter
    clock: Clock
    recorder: EventRecorder
    data_dir: Path
    node_name: str
    host_ip: str = "127.0.0.1"
    allocatable: JSON = field(default_factory=dict)
    restart_backoff: Backoff = field(default_factory=Backoff)
    image_backoff: Backoff = field(default_factory=Backoff)
    # how often a pod worker looks at its containers when nothing wakes it (seconds)
    poll_interval: float = 1.0
    # how often configMap/secret/downwardAPI/projected volumes are refreshed
    volume_refresh: float = 10.0
    # the Services a pod in this namespace sees (for service-link env vars)
    services: Callable[[str], list[JSON]] = field(default=lambda namespace: [])

    def pods_dir(self) -> Path:
        return self.data_dir / "pods"


@dataclass
class ContainerRecord:
    name: str
    id: str
    attempt: int  # restartCount when it was created
    image_name: str = ""
    image_id: str = ""
    status: ContainerStatus | None = None
    started_monotonic: float = 0.0  # clock.monotonic() when first seen running
    termination_log: Path | None = None
    probes: dict[str, ProbeWorker] = field(default_factory=dict)
    probe_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # why the kubelet stopped it, if it did (liveness failure...)
    killed_for: str = ""
    post_start_failed: str = ""

    @property
    def container_id(self) -> str:
        return f"runc://{self.id}"

    def stop_probes(self) -> None:
        for task in self.probe_tasks:
            task.cancel()
        self.probe_tasks = []
