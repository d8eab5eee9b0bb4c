"""add_after with the real clock: the delay is honoured (a FakeClock starting at 0 hid a bug here)."""

from __future__ import annotations

import asyncio
import time

from litekube.machinery.clock import RealClock
from litekube.machinery.queue import WorkQueue


async def test_add_after_waits_the_delay_with_the_real_clock() -> None:
    queue = WorkQueue(RealClock())
    start = time.monotonic()
    queue.add_after("k", 0.3)
    key = await asyncio.wait_for(queue.get(), timeout=5)
    elapsed = time.monotonic() - start
    assert key == "k"
    assert elapsed >= 0.25, elapsed
    queue.shutdown()


async def test_each_added_key_wakes_a_single_waiting_worker() -> None:
    queue = WorkQueue(RealClock())
    got: list[str | None] = []

    async def worker() -> None:
        got.append(await queue.get())

    workers = [asyncio.create_task(worker()) for _ in range(3)]
    await asyncio.sleep(0)
    queue.add("a")
    await asyncio.sleep(0.01)
    assert got == ["a"]  # one worker took it; the other two are still parked
    assert sum(not w.done() for w in workers) == 2
    queue.add("b")
    queue.add("c")
    await asyncio.wait_for(asyncio.gather(*workers), 1)
    assert sorted(k for k in got if k) == ["a", "b", "c"]
    queue.shutdown()
