"""Every acknowledged write survives SIGKILL of the writing process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from litekube.storage.sqlite import SQLiteStorage

SRC = str(Path(__file__).resolve().parents[2] / "src")

# Writes forever from 16 concurrent tasks; prints each key only after create() returned.
WRITER = """
import asyncio, sys
from litekube.storage.sqlite import SQLiteStorage

async def main() -> None:
    storage = SQLiteStorage(sys.argv[1], compact_interval=0)
    await storage.start()
    async def worker(worker_id: int) -> None:
        for index in range(1_000_000):
            key = f"/d/{worker_id}/{index}"
            await storage.create(key, b"x" * 512)
            sys.stdout.write(key + "\\n")
            sys.stdout.flush()
    await asyncio.gather(*(worker(w) for w in range(16)))

asyncio.run(main())
"""


async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, path, stdout=asyncio.subprocess.PIPE, env=env
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    try:
        async with asyncio.timeout(30):
            while len(acknowledged) < 2000:
                line = await child.stdout.readline()
                assert line, "the writer exited early"
                acknowledged.append(line.decode().strip())
    finally:
        child.send_signal(signal.SIGKILL)  # mid-stream: writes are still in flight
        await child.wait()
    # Lines printed before the kill but not yet read are acknowledged too.
    acknowledged += [line for line in (await child.stdout.read()).decode().split("\n") if line]

    storage = SQLiteStorage(path, compact_interval=0)
    await storage.start()
    try:
        stored = {kv.key for kv in (await storage.list("/d/")).items}
        missing = [key for key in acknowledged if key not in stored]
        assert not missing
        assert await storage.current_revision() == len(stored)
    finally:
        await storage.close()
