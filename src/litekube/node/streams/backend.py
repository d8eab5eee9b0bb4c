"""The one seam between the stream handlers and the node: `ContainerBackend`.

The handlers in this package speak HTTP, WebSocket and SPDY; everything they need from the
node goes through this protocol, so the same handlers run against the kubelet
(`kubelet_backend.py`: runtime + pod worker state) and against `FakeBackend` (`fake.py`:
local subprocesses and log files a test writes).

Shapes follow `litekube.node.runtime.base`: stdin is an async iterable of bytes that ends at
EOF, output goes to an async `Sink`, terminal resizes arrive as an async iterable of
(width, height). exec returns the process's exit code; attach returns when the container's
main process ends or the streams close.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

Sink = Callable[[bytes], Awaitable[None]]
Resizes = AsyncIterable[tuple[int, int]]
PodDict = dict[str, Any]


class ContainerState(enum.StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    EXITED = "exited"


@dataclass(frozen=True)
class ContainerRef:
    """The node's view of one container of a pod right now.

    `reason` is the waiting reason (ContainerCreating, ImagePullBackOff, CrashLoopBackOff…)
    or the terminated reason (Completed, Error, OOMKilled); `container_id` is None while no
    instance exists.
    """

    container_id: str | None
    state: ContainerState
    reason: str = ""


class StreamFailure(Exception):
    """exec/attach could not run (the runtime's message says why)."""


@runtime_checkable
class ContainerBackend(Protocol):
    async def get_pod(self, namespace: str, name: str) -> PodDict | None:
        """The pod as the API has it, or None when it does not exist."""
        ...

    def find_container(self, namespace: str, pod: str, container: str) -> ContainerRef | None:
        """None: the node has no record of that container (pod not synced here yet)."""
        ...

    def log_path(self, namespace: str, pod: str, container: str, previous: bool) -> Path | None:
        """CRI-format log of the current instance (or, with previous, of the last terminated one)."""
        ...

    def pod_ip(self, namespace: str, pod: str) -> str | None:
        """The pod's IP on our bridge (127.0.0.1 for host-network or test pods)."""
        ...

    async def exec(
        self,
        container_id: str,
        argv: list[str],
        tty: bool,
        stdin: AsyncIterable[bytes] | None,
        stdout: Sink | None,
        stderr: Sink | None,
        resize: Resizes | None,
    ) -> int:
        """Run argv in the container; returns its exit code. Raises StreamFailure."""
        ...

    async def attach(
        self,
        container_id: str,
        stdin: AsyncIterable[bytes] | None,
        stdout: Sink | None,
        stderr: Sink | None,
        resize: Resizes | None,
    ) -> None:
        """Join the main process's streams until it exits. Raises StreamFailure."""
        ...
