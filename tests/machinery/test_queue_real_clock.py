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
