"""FakeRuntime: the Runtime protocol as an in-memory state machine, for kubelet unit tests.

Containers go created → running → exited like real ones, without processes. What a
container does is set per container name with `behave(name, Behaviour(...))`:
exit on its own after `run_for` seconds with `exit_code` (or run until stopped), be
OOM-killed, ignore SIGTERM (so `stop` escalates to SIGKILL after the grace period), print
`output` lines into its CRI log file, fail at create or start. Tests can also end a
container by hand with `finish(id, code)`. `exec` answers through `exec_handler` and records
its calls; `adopt` reports what is "still running", as after an agent restart.
"""

from __future__ import annotations

import asyncio
import builtins
import itertools
import signal
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from litekube.node.runtime.base import ContainerNotFound, Resizes, RuntimeFailure, Sink
from litekube.node.runtime.sandbox import SANDBOX_LABEL
from litekube.node.runtime.types import (
    ID_PREFIX,
    ContainerConfig,
    ContainerState,
    ContainerStatus,
    exit_reason,
)

ExecHandler = Callable[[str, list[str], bytes], tuple[int, bytes, bytes]]


@dataclass
class Behaviour:
    exit_code: int = 0
    run_for: float | None = None  # None: runs until stopped
    oom: bool = False
    ignore_sigterm: bool = False
    output: list[str] = field(default_factory=list)
    fail_create: str | None = None
    fail_start: str | None = None


@dataclass
class _Container:
    config: ContainerConfig
    behaviour: Behaviour
    state: ContainerState = ContainerState.CREATED
    pid: int | None = None
    exit_code: int | None = None
    oom: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None
    timer: asyncio.TimerHandle | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)


def _default_exec(container_id: str, argv: list[str], stdin: bytes) -> tuple[int, bytes, bytes]:
    return 0, stdin, b""


class FakeRuntime:
    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: datetime.now(UTC))
        self.containers: dict[str, _Container] = {}
        self.behaviours: dict[str, Behaviour] = {}
        self.exec_handler: ExecHandler = _default_exec
        self.exec_calls: list[tuple[str, list[str]]] = []
        self.signals: list[tuple[str, int]] = []
        self._pids = itertools.count(1000)

    def behave(self, container_name: str, behaviour: Behaviour) -> None:
        self.behaviours[container_name] = behaviour

    def _get(self, container_id: str) -> _Container:
        try:
            return self.containers[container_id]
        except KeyError:
            raise ContainerNotFound(container_id) from None

    async def create_sandbox(
        self, pod_uid: str, pod_name: str, pod_namespace: str, hostname: str, netns_path: str | None
    ) -> str:
        container_id = f"{ID_PREFIX}sandbox-{next(self._pids)}"
        config = ContainerConfig(
            id=container_id,
            pod_uid=pod_uid,
            pod_name=pod_name,
            pod_namespace=pod_namespace,
            name="POD",
            bundle_dir=Path("/nonexistent"),
            rootfs=Path("/nonexistent"),
            args=["pause"],
            log_path=Path("/nonexistent/sandbox.log"),
            hostname=hostname,
            netns_path=netns_path,
            labels={SANDBOX_LABEL: "true", "io.kubernetes.pod.uid": pod_uid},
        )
        self.containers[container_id] = _Container(config, Behaviour())
        await self.start(container_id)
        return container_id

    async def remove_sandbox(self, sandbox_id: str) -> None:
        if sandbox_id in self.containers:
            await self.stop(sandbox_id, 0)
            await self.remove(sandbox_id)

    async def create(self, config: ContainerConfig) -> None:
        if config.id in self.containers:
            raise RuntimeFailure(f"container {config.id} already exists")
        behaviour = self.behaviours.get(config.name, Behaviour())
        if behaviour.fail_create:
            raise RuntimeFailure(behaviour.fail_create)
        self.containers[config.id] = _Container(config, behaviour, created_at=self.now())

    async def start(self, container_id: str) -> None:
        container = self._get(container_id)
        if container.state != ContainerState.CREATED:
            raise RuntimeFailure(f"container {container_id} is {container.state}, not created")
        if container.behaviour.fail_start:
            self._exit(container, 128, False)
            raise RuntimeFailure(container.behaviour.fail_start)
        container.state = ContainerState.RUNNING
        container.pid = next(self._pids)
        container.started_at = self.now()
        for line in container.behaviour.output:
            self.write_log(container_id, "stdout", line)
        if container.behaviour.run_for is not None:
            exit_code = 137 if container.behaviour.oom else container.behaviour.exit_code
            container.timer = asyncio.get_running_loop().call_later(
                container.behaviour.run_for, self._exit, container, exit_code, container.behaviour.oom
            )

    def finish(self, container_id: str, exit_code: int, oom: bool = False) -> None:
        """End a running container now, as if its process exited."""
        self._exit(self._get(container_id), exit_code, oom)

    def _exit(self, container: _Container, exit_code: int, oom: bool) -> None:
        if container.state == ContainerState.EXITED:
            return
        if container.timer is not None:
            container.timer.cancel()
        container.state = ContainerState.EXITED
        container.exit_code = exit_code
        container.oom = oom
        container.pid = None
        container.finished_at = self.now()
        container.exited.set()

    def write_log(self, container_id: str, stream: str, text: str) -> None:
        """Append one CRI record to the container's log file (if its directory exists)."""
        path = self._get(container_id).config.log_path
        if path.parent.is_dir():
            stamp = self.now().strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
            with open(path, "a") as file:
                file.write(f"{stamp} {stream} F {text}\n")

    async def stop(self, container_id: str, grace_period: float, sig: int = signal.SIGTERM) -> None:
        container = self._get(container_id)
        if container.state == ContainerState.EXITED:
            return
        self.signals.append((container_id, sig))
        if container.state == ContainerState.CREATED or sig == signal.SIGKILL:
            self._exit(container, 128 + signal.SIGKILL, False)
            return
        if not container.behaviour.ignore_sigterm:
            self._exit(container, 128 + sig, False)
            return
        try:
            await asyncio.wait_for(container.exited.wait(), grace_period)
        except TimeoutError:
            self.signals.append((container_id, signal.SIGKILL))
            self._exit(container, 128 + signal.SIGKILL, False)

    async def remove(self, container_id: str) -> None:
        container = self.containers.pop(container_id, None)
        if container is not None and container.timer is not None:
            container.timer.cancel()

    async def status(self, container_id: str) -> ContainerStatus:
        container = self._get(container_id)
        status = ContainerStatus(
            id=container_id,
            state=container.state,
            pid=container.pid,
            exit_code=container.exit_code,
            created_at=container.created_at,
            started_at=container.started_at,
            finished_at=container.finished_at,
            labels=dict(container.config.labels),
            log_path=container.config.log_path,
        )
        if container.exit_code is not None:
            status.reason = exit_reason(container.exit_code, container.oom)
        return status

    async def list(self) -> builtins.list[str]:
        return sorted(self.containers)

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
        container = self._get(container_id)
        if container.state != ContainerState.RUNNING:
            raise RuntimeFailure(f"container {container_id} is not running")
        self.exec_calls.append((container_id, list(argv)))
        data = b""
        if stdin is not None:
            async for chunk in stdin:
                data += chunk
        code, out, err = self.exec_handler(container_id, list(argv), data)
        if out and stdout is not None:
            await stdout(out)
        if err and stderr is not None:
            await (stderr if not tty else stdout or stderr)(err)
        return code

    async def attach(
        self,
        container_id: str,
        stdin: AsyncIterable[bytes] | None = None,
        stdout: Sink | None = None,
        stderr: Sink | None = None,
        resize: Resizes | None = None,
    ) -> None:
        container = self._get(container_id)
        if stdin is not None and container.config.stdin and stdout is not None:
            async for chunk in stdin:
                await stdout(chunk)  # an echoing process, like `cat`
        await container.exited.wait()

    async def reopen_log(self, container_id: str) -> None:
        self._get(container_id)

    async def adopt(self) -> builtins.list[ContainerStatus]:
        return [await self.status(container_id) for container_id in sorted(self.containers)]
