"""The runtime seam: what the kubelet may ask of a container runtime.

Two implementations sit behind it: `RuncRuntime` (runc under conmon, real processes) and
`FakeRuntime` (an in-memory state machine for the kubelet's unit tests). Errors form a small
tree:

    RuntimeFailure            something the runtime could not do (message says what)
    └── ContainerNotFound     no container with that id (already removed, never created)

Streams are plain asyncio shapes so the kubelet can bridge them to WebSocket channels:
stdin is any async iterable of bytes (an `asyncio.StreamReader` is one), output goes to an
async callable `Sink`, terminal resizes arrive as an async iterable of (width, height).
"""

from __future__ import annotations

import builtins
import signal
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Protocol, runtime_checkable

from litekube.node.runtime.types import ContainerConfig, ContainerStatus

Sink = Callable[[bytes], Awaitable[None]]
Resizes = AsyncIterable[tuple[int, int]]


class RuntimeFailure(Exception):
    pass


class ContainerNotFound(RuntimeFailure):
    def __init__(self, container_id: str) -> None:
        super().__init__(f"container {container_id} not found")
        self.container_id = container_id


@runtime_checkable
class Runtime(Protocol):
    async def create_sandbox(
        self, pod_uid: str, pod_name: str, pod_namespace: str, hostname: str, netns_path: str | None
    ) -> str:
        """Start the pod's sandbox (holder of its IPC/UTS namespaces); returns its id."""
        ...

    async def remove_sandbox(self, sandbox_id: str) -> None:
        """Stop and remove the sandbox, then the pod's cgroup (its containers must be gone)."""
        ...

    async def create(self, config: ContainerConfig) -> None:
        """Write the bundle and create the container (state `created`, process not yet run)."""
        ...

    async def start(self, container_id: str) -> None: ...

    async def stop(self, container_id: str, grace_period: float, sig: int = signal.SIGTERM) -> None:
        """Send `sig`; after `grace_period` seconds SIGKILL. Returns once the container has exited."""
        ...

    async def remove(self, container_id: str) -> None:
        """Forget the container: kill it if needed, delete it and its bundle files. Idempotent."""
        ...

    async def status(self, container_id: str) -> ContainerStatus: ...

    async def list(self) -> list[str]:
        """Ids of this runtime's containers (sandboxes included), whatever their state."""
        ...

    async def exec(
        self,
        container_id: str,
        argv: builtins.list[str],
        tty: bool = False,
        stdin: AsyncIterable[bytes] | None = None,
        stdout: Sink | None = None,
        stderr: Sink | None = None,
        resize: Resizes | None = None,
    ) -> int:
        """Run argv inside the container; returns its exit code. With tty, stderr is unused."""
        ...

    async def attach(
        self,
        container_id: str,
        stdin: AsyncIterable[bytes] | None = None,
        stdout: Sink | None = None,
        stderr: Sink | None = None,
        resize: Resizes | None = None,
    ) -> None:
        """Connect to the main process's streams until it exits or the streams end."""
        ...

    async def reopen_log(self, container_id: str) -> None:
        """Make the container's log writer reopen its log path (after a rotation)."""
        ...

    async def adopt(self) -> builtins.list[ContainerStatus]:
        """After an agent restart: find our containers still on the machine."""
        ...
