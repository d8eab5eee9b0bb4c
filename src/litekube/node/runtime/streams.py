"""exec and attach: byte streams between the kubelet and a container's processes.

exec runs `runc exec <id> argv...` as our child (it inherits env, cwd, user and
capabilities from the bundle's config.json) and waits for its exit code:
- without a TTY its stdin/stdout/stderr are pipes pumped to the caller's iterables/sinks;
- with a TTY it runs on a pseudo-terminal we allocate (`pty.openpty`); `runc exec -t`
  makes a second terminal inside the container and copies between the two, putting ours
  in raw mode. A resize sets our terminal's size and sends SIGWINCH to runc, which copies
  the size to the inner terminal.

attach talks to conmon's attach socket (SOCK_SEQPACKET): each packet conmon sends is one
byte naming the stream (2 stdout, 3 stderr) followed by data; what we write goes to the
container's stdin, and shutting down our write side closes it (for stdinOnce). Resizes go
to conmon's `ctl` FIFO as "1 <height> <width>\n"; "2 0 0\n" asks it to reopen the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import socket
import struct
import termios
from collections.abc import AsyncIterable, Awaitable, Callable
from pathlib import Path

from litekube.node.runtime.base import Resizes, RuntimeFailure, Sink

CTL_RESIZE = 1
CTL_REOPEN_LOG = 2
_ATTACH_STDOUT = 2
_ATTACH_STDERR = 3
_READ_SIZE = 32 * 1024


async def _discard(_: bytes) -> None:
    return None


async def _pump_reader(reader: asyncio.StreamReader, sink: Sink) -> None:
    while chunk := await reader.read(_READ_SIZE):
        await sink(chunk)


async def _pump_stdin(source: AsyncIterable[bytes], write: Callable[[bytes], Awaitable[None]]) -> None:
    async for chunk in source:
        if chunk:
            await write(chunk)


def set_winsize(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


async def runc_exec(
    runc: str,
    container_id: str,
    argv: list[str],
    tty: bool,
    stdin: AsyncIterable[bytes] | None,
    stdout: Sink | None,
    stderr: Sink | None,
    resize: Resizes | None,
) -> int:
    if not argv:
        raise RuntimeFailure("exec needs a command")
    if tty:
        return await _exec_tty(runc, container_id, argv, stdin, stdout, resize)
    process = await asyncio.create_subprocess_exec(
        runc, "exec", container_id, *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    outputs = [
        asyncio.ensure_future(_pump_reader(process.stdout, stdout or _discard)),
        asyncio.ensure_future(_pump_reader(process.stderr, stderr or _discard)),
    ]
    feeder = None
    if stdin is not None:
        assert process.stdin is not None
        pipe = process.stdin

        async def write(chunk: bytes) -> None:
            pipe.write(chunk)
            await pipe.drain()

        async def feed() -> None:
            with contextlib.suppress(ConnectionError):
                await _pump_stdin(stdin, write)
                pipe.close()  # EOF for the process, like kubectl's closed stdin

        feeder = asyncio.ensure_future(feed())
    try:
        await asyncio.gather(*outputs)
        return await process.wait()
    finally:
        await _cancel(feeder)
        for task in outputs:
            await _cancel(task)
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _exec_tty(
    runc: str,
    container_id: str,
    argv: list[str],
    stdin: AsyncIterable[bytes] | None,
    stdout: Sink | None,
    resize: Resizes | None,
) -> int:
    master, slave = pty.openpty()
    set_winsize(slave, 80, 24)
    try:
        process = await asyncio.create_subprocess_exec(
            runc, "exec", "--tty", container_id, *argv,
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        )  # fmt: skip
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    os.close(slave)
    os.set_blocking(master, False)
    loop = asyncio.get_running_loop()
    output: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            chunk = os.read(master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""  # EIO: every slave end is closed, runc has gone
        if not chunk:
            loop.remove_reader(master)
        output.put_nowait(chunk)

    loop.add_reader(master, readable)

    async def deliver() -> None:
        sink = stdout or _discard
        while chunk := await output.get():
            await sink(chunk)

    async def write(chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            try:
                view = view[os.write(master, view) :]
            except BlockingIOError:
                await asyncio.sleep(0.01)

    async def resizer() -> None:
        assert resize is not None
        async for width, height in resize:
            set_winsize(master, width, height)
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGWINCH)

    side = [asyncio.ensure_future(_pump_stdin(stdin, write))] if stdin is not None else []
    if resize is not None:
        side.append(asyncio.ensure_future(resizer()))
    deliverer = asyncio.ensure_future(deliver())
    try:
        code = await process.wait()
        # Drain what runc copied out before it exited (the reader sees EIO after that).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(deliverer), 2.0)
        return code
    finally:
        loop.remove_reader(master)
        os.close(master)
        for task in [*side, deliverer]:
            await _cancel(task)
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _cancel(task: asyncio.Future[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def write_ctl(ctl: Path, kind: int, height: int, width: int) -> None:
    """One message to conmon's control FIFO (non-blocking open: no reader → error)."""
    try:
        fd = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        raise RuntimeFailure(f"conmon control pipe {ctl}: {error.strerror}") from None
    try:
        os.write(fd, f"{kind} {height} {width}\n".encode())
    finally:
        os.close(fd)


async def conmon_attach(
    socket_path: Path,
    ctl: Path,
    stdin: AsyncIterable[bytes] | None,
    stdout: Sink | None,
    stderr: Sink | None,
    resize: Resizes | None,
) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    # Socket paths are limited to 108 bytes; going through an O_PATH descriptor of the
    # directory keeps the address short however deep the state directory is.
    try:
        directory = os.open(socket_path.parent, os.O_PATH)
    except OSError as error:
        sock.close()
        raise RuntimeFailure(f"attach {socket_path}: {error.strerror}") from None
    try:
        await loop.sock_connect(sock, f"/proc/self/fd/{directory}/{socket_path.name}")
    except OSError as error:
        sock.close()
        raise RuntimeFailure(f"attach {socket_path}: {error.strerror or error}") from None
    finally:
        os.close(directory)

    async def receive() -> None:
        while True:
            packet = await loop.sock_recv(sock, _READ_SIZE + 1)
            if not packet:
                return
            sink = {_ATTACH_STDOUT: stdout, _ATTACH_STDERR: stderr}.get(packet[0])
            if sink is not None and len(packet) > 1:
                await sink(packet[1:])

    async def send() -> None:
        assert stdin is not None

        async def write(chunk: bytes) -> None:
            await loop.sock_sendall(sock, chunk)

        await _pump_stdin(stdin, write)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)

    async def resizer() -> None:
        assert resize is not None
        async for width, height in resize:
            await write_ctl(ctl, CTL_RESIZE, height, width)

    side = []
    if stdin is not None:
        side.append(asyncio.ensure_future(send()))
    if resize is not None:
        side.append(asyncio.ensure_future(resizer()))
    try:
        await receive()
    finally:
        for task in side:
            await _cancel(task)
        sock.close()
