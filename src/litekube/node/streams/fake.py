"""`FakeBackend`: the stream handlers' backend made of local subprocesses, for tests.

A "container" is a host process started by `start()`: its output is written to a CRI log
file the way conmon writes it (one record per line, `P` for a trailing partial line), and
fanned out to attached clients; exec runs the argv as another host process (on a
pseudo-terminal for tty sessions). Pods are plain dicts the test adds. Nothing here is
isolated: it exists so the real kubectl can be tested against the real handlers quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import os
import pty
import struct
import termios
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from litekube.node.streams.backend import (
    ContainerRef,
    ContainerState,
    PodDict,
    Resizes,
    Sink,
    StreamFailure,
)

_READ_SIZE = 32 * 1024
_ids = itertools.count(1)


def cri_timestamp(when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}000Z"


def cri_records(stream: str, data: bytes, when: datetime | None = None) -> bytes:
    """conmon's framing of one read: full lines tagged F, a trailing partial one tagged P."""
    stamp = cri_timestamp(when).encode()
    out = []
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if last and not line:
            break
        out.append(b"%s %s %s %s\n" % (stamp, stream.encode(), b"P" if last else b"F", line))
    return b"".join(out)


def _set_winsize(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


class _Terminal:
    """A process on a pseudo-terminal: output through a callback, input and resizes by fd."""

    def __init__(self, argv: list[str], cwd: str | None) -> None:
        self.argv, self.cwd = argv, cwd
        self.master = -1
        self.output: asyncio.Queue[bytes] = asyncio.Queue()
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> asyncio.subprocess.Process:
        master, slave = pty.openpty()
        _set_winsize(slave, 80, 24)
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, cwd=self.cwd
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.master = master
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._readable)
        return self.process

    def _readable(self) -> None:
        try:
            chunk = os.read(self.master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""  # EIO: the process side of the terminal is gone
        if not chunk:
            asyncio.get_running_loop().remove_reader(self.master)
        self.output.put_nowait(chunk)

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view) :]
            except BlockingIOError:
                await asyncio.sleep(0.01)

    def resize(self, width: int, height: int) -> None:
        _set_winsize(self.master, width, height)  # the kernel sends SIGWINCH to the session

    def close(self) -> None:
        if self.master >= 0:
            asyncio.get_running_loop().remove_reader(self.master)
            os.close(self.master)
            self.master = -1


@dataclass
class FakeContainer:
    namespace: str
    pod: str
    name: str
    id: str
    log_path: Path
    tty: bool = False
    state: ContainerState = ContainerState.RUNNING
    reason: str = ""
    exit_code: int | None = None
    process: asyncio.subprocess.Process | None = None
    terminal: _Terminal | None = None
    attached: list[tuple[Sink | None, Sink | None]] = field(default_factory=list)
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Future[None]] = field(default_factory=list)


class FakeBackend:
    def __init__(self, log_dir: Path, exec_cwd: Path | None = None) -> None:
        self.log_dir = log_dir
        self.exec_cwd = str(exec_cwd) if exec_cwd else None
        self.pods: dict[tuple[str, str], PodDict] = {}
        self.ips: dict[tuple[str, str], str] = {}
        self.current: dict[tuple[str, str, str], FakeContainer] = {}
        self.previous: dict[tuple[str, str, str], FakeContainer] = {}
        self.waiting: dict[tuple[str, str, str], str] = {}

    # ------------------------------------------------------------ test controls
    def add_pod(self, pod: PodDict, ip: str | None = "127.0.0.1") -> None:
        meta = pod["metadata"]
        key = (meta.get("namespace", "default"), meta["name"])
        self.pods[key] = pod
        if ip is not None:
            self.ips[key] = ip

    def set_waiting(self, namespace: str, pod: str, container: str, reason: str) -> None:
        self.waiting[(namespace, pod, container)] = reason

    def add_log(
        self,
        namespace: str,
        pod: str,
        name: str,
        records: bytes,
        previous: bool = False,
        state: ContainerState = ContainerState.RUNNING,
        reason: str = "",
    ) -> FakeContainer:
        """A container instance with no process whose log holds the given CRI records."""
        key = (namespace, pod, name)
        log_path = self.log_dir / f"{namespace}_{pod}" / name / f"{next(_ids)}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_bytes(records)
        container = FakeContainer(
            namespace, pod, name, f"fake-{next(_ids)}", log_path, state=state, reason=reason
        )
        if state != ContainerState.RUNNING:
            container.exited.set()
        self.waiting.pop(key, None)
        (self.previous if previous else self.current)[key] = container
        return container

    async def start(
        self, namespace: str, pod: str, name: str, argv: list[str], tty: bool = False, stdin: bool = False
    ) -> FakeContainer:
        """Run a new instance of the container; an earlier one becomes the `previous`."""
        key = (namespace, pod, name)
        old = self.current.pop(key, None)
        if old is not None:
            await self._kill(old)
            self.previous[key] = old
        self.waiting.pop(key, None)
        restart = len([c for c in (old, self.previous.get(key)) if c is not None])
        log_path = self.log_dir / f"{namespace}_{pod}" / name / f"{restart}.{next(_ids)}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
        container = FakeContainer(namespace, pod, name, f"fake-{next(_ids)}", log_path, tty)
        if tty:
            container.terminal = _Terminal(argv, self.exec_cwd)
            container.process = await container.terminal.start()
            container.tasks.append(asyncio.ensure_future(self._pump_terminal(container)))
        else:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.exec_cwd,
            )
            container.process = process
            assert process.stdout is not None and process.stderr is not None
            container.tasks += [
                asyncio.ensure_future(self._pump_pipe(container, process.stdout, "stdout")),
                asyncio.ensure_future(self._pump_pipe(container, process.stderr, "stderr")),
            ]
        container.tasks.append(asyncio.ensure_future(self._watch(container)))
        self.current[key] = container
        return container

    async def close(self) -> None:
        for container in [*self.current.values(), *self.previous.values()]:
            await self._kill(container)

    # ------------------------------------------------------------ ContainerBackend
    async def get_pod(self, namespace: str, name: str) -> PodDict | None:
        return self.pods.get((namespace, name))

    def find_container(self, namespace: str, pod: str, container: str) -> ContainerRef | None:
        key = (namespace, pod, container)
        if key in self.waiting:
            return ContainerRef(None, ContainerState.WAITING, self.waiting[key])
        current = self.current.get(key)
        if current is None:
            return None
        return ContainerRef(current.id, current.state, current.reason)

    def log_path(self, namespace: str, pod: str, container: str, previous: bool) -> Path | None:
        key = (namespace, pod, container)
        found = (self.previous if previous else self.current).get(key)
        return found.log_path if found is not None else None

    def pod_ip(self, namespace: str, pod: str) -> str | None:
        return self.ips.get((namespace, pod))

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
        self._running(container_id)
        if tty:
            return await self._exec_tty(argv, stdin, stdout, resize)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.exec_cwd,
            )
        except OSError as e:
            raise StreamFailure(f"exec: {e.strerror}: {argv[0]}") from None
        assert process.stdout is not None and process.stderr is not None
        tasks = [
            asyncio.ensure_future(_pump(process.stdout.read, stdout)),
            asyncio.ensure_future(_pump(process.stderr.read, stderr)),
        ]
        if stdin is not None:
            tasks.append(asyncio.ensure_future(_feed_pipe(stdin, process)))
        try:
            await asyncio.gather(*tasks[:2])
            return _exit_code(await process.wait())
        finally:
            await _cancel(tasks)
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def attach(
        self,
        container_id: str,
        stdin: AsyncIterable[bytes] | None,
        stdout: Sink | None,
        stderr: Sink | None,
        resize: Resizes | None,
    ) -> None:
        container = self._running(container_id)
        subscriber = (stdout, stderr)
        container.attached.append(subscriber)
        tasks: list[asyncio.Future[None]] = []
        if stdin is not None:
            tasks.append(asyncio.ensure_future(self._feed_container(container, stdin)))
        if resize is not None and container.terminal is not None:
            tasks.append(asyncio.ensure_future(_apply_resizes(container.terminal, resize)))
        try:
            await container.exited.wait()
        finally:
            container.attached.remove(subscriber)
            await _cancel(tasks)

    # ------------------------------------------------------------ internals
    def _running(self, container_id: str) -> FakeContainer:
        for container in self.current.values():
            if container.id == container_id and container.state == ContainerState.RUNNING:
                return container
        raise StreamFailure(f"container {container_id} is not running")

    async def _record(self, container: FakeContainer, stream: str, data: bytes) -> None:
        _append(container.log_path, cri_records(stream, data))
        for stdout, stderr in list(container.attached):
            sink = stderr if stream == "stderr" else stdout
            if sink is not None:
                with contextlib.suppress(Exception):
                    await sink(data)

    async def _pump_pipe(self, container: FakeContainer, reader: asyncio.StreamReader, stream: str) -> None:
        while chunk := await reader.read(_READ_SIZE):
            await self._record(container, stream, chunk)

    async def _pump_terminal(self, container: FakeContainer) -> None:
        assert container.terminal is not None
        while chunk := await container.terminal.output.get():
            await self._record(container, "stdout", chunk)

    async def _watch(self, container: FakeContainer) -> None:
        assert container.process is not None
        code = _exit_code(await container.process.wait())
        # Let the output pumps finish before the container counts as exited.
        await asyncio.gather(*container.tasks[:-1], return_exceptions=True)
        container.exit_code = code
        container.reason = "Completed" if code == 0 else "Error"
        container.state = ContainerState.EXITED
        container.exited.set()

    async def _feed_container(self, container: FakeContainer, stdin: AsyncIterable[bytes]) -> None:
        if container.terminal is not None:
            async for chunk in stdin:
                await container.terminal.write(chunk)
            return
        process = container.process
        if process is not None and process.stdin is not None:
            await _feed_pipe(stdin, process)

    async def _exec_tty(
        self, argv: list[str], stdin: AsyncIterable[bytes] | None, stdout: Sink | None, resize: Resizes | None
    ) -> int:
        terminal = _Terminal(argv, self.exec_cwd)
        try:
            process = await terminal.start()
        except OSError as e:
            raise StreamFailure(f"exec: {e.strerror}: {argv[0]}") from None

        async def deliver() -> None:
            while chunk := await terminal.output.get():
                if stdout is not None:
                    await stdout(chunk)

        async def feed() -> None:
            assert stdin is not None
            async for chunk in stdin:
                await terminal.write(chunk)

        side: list[asyncio.Future[None]] = []
        if stdin is not None:
            side.append(asyncio.ensure_future(feed()))
        if resize is not None:
            side.append(asyncio.ensure_future(_apply_resizes(terminal, resize)))
        output = asyncio.ensure_future(deliver())
        try:
            code = await process.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(output), 2.0)
            return _exit_code(code)
        finally:
            await _cancel([*side, output])
            terminal.close()
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def _kill(self, container: FakeContainer) -> None:
        process = container.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if process is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(container.exited.wait(), 5.0)
        await _cancel(container.tasks)
        if container.terminal is not None:
            container.terminal.close()


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as log:  # small appends to a local file: not worth a thread
        log.write(data)


async def _pump(read: Callable[[int], Awaitable[bytes]], sink: Sink | None) -> None:
    while chunk := await read(_READ_SIZE):
        if sink is not None:
            await sink(chunk)


async def _feed_pipe(stdin: AsyncIterable[bytes], process: asyncio.subprocess.Process) -> None:
    pipe = process.stdin
    assert pipe is not None
    with contextlib.suppress(ConnectionError):
        async for chunk in stdin:
            pipe.write(chunk)
            await pipe.drain()
        pipe.close()  # the client's stdin ended: EOF for the process


async def _apply_resizes(terminal: _Terminal, resize: Resizes) -> None:
    async for width, height in resize:
        if terminal.master >= 0:
            terminal.resize(width, height)


async def _cancel(tasks: Sequence[asyncio.Future[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
