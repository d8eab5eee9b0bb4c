"""Running host tools (`ip`, `iptables`, CNI plugins) as asyncio subprocesses.

Every external command of the network package goes through `run()`, so there is one place
that decides how output is collected and how a missing binary is reported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """`ip netns add x: exit 1: <stderr>`, for error messages."""
        detail = (self.stderr or self.stdout).decode(errors="replace").strip()
        return f"{' '.join(self.argv)}: exit {self.returncode}: {detail}"


async def run(
    *argv: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None, time_limit: float = 30.0
) -> Completed:
    """Run a command to completion; a missing binary is exit 127, like a shell would say.

    The time limit is a safety net (a plugin stuck on a lock must not hang the kubelet's pod
    worker forever); on expiry the process is killed and the result is exit -9.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError as error:
        return Completed(tuple(argv), 127, b"", str(error).encode())
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), time_limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        return Completed(tuple(argv), -9, b"", f"timed out after {time_limit}s".encode())
    return Completed(tuple(argv), process.returncode or 0, stdout, stderr)
