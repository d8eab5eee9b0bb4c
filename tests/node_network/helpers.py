"""Traffic helpers for the root tests: a TCP server inside a pod namespace, pings, nc."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

# serves `count` connections with a line naming itself, then exits (bounded: 10 s timeout)
_SERVER = """
import socket, sys
port, count, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", port))
server.listen(8)
server.settimeout(10)
print("ready", flush=True)
for _ in range(count):
    connection, address = server.accept()
    connection.sendall(f"pong {name} from {address[0]}\\n".encode())
    connection.close()
"""


def netns_name(netns_path: str) -> str:
    return Path(netns_path).name


async def in_netns(netns: str, *argv: str, timeout: float = 5.0) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", netns, *argv,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        return -9, "timeout"
    return process.returncode or 0, output.decode(errors="replace")


async def ping(netns: str, address: str) -> bool:
    code, _ = await in_netns(netns, "busybox", "ping", "-c1", "-W1", address)
    return code == 0


@asynccontextmanager
async def tcp_server(netns: str, port: int, count: int, name: str) -> AsyncIterator[None]:
    """A server in the namespace, ready when the block starts, killed when it ends."""
    process = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", netns, sys.executable, "-c", _SERVER, str(port), str(count), name,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 5)
        assert line.strip() == b"ready", line
        yield
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def fetch_from_host(address: str, port: int) -> str:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), 3)
    try:
        return (await asyncio.wait_for(reader.readline(), 3)).decode()
    finally:
        writer.close()


async def fetch_from_netns(netns: str, address: str, port: int) -> str:
    _, output = await in_netns(netns, "busybox", "nc", "-w", "2", address, str(port))
    return output
