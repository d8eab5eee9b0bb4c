from __future__ import annotations

import asyncio

import pytest

from litekube.machinery.clock import FakeClock, parse_time, rfc3339
from litekube.machinery.queue import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    WorkQueue,
    default_controller_rate_limiter,
)


def test_exponential_backoff_doubles_from_5ms_and_caps_at_1000s() -> None:
    limiter = ItemExponentialRateLimiter()
    delays = [limiter.when("k") for _ in range(20)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[17] == pytest.approx(0.005 * 2**17)
    assert delays[18] == delays[19] == 1000.0
    assert limiter.num_requeues("k") == 20
    limiter.forget("k")
    assert limiter.when("k") == 0.005


def test_bucket_allows_burst_then_spaces_at_qps() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(clock, qps=10, burst=2)
    assert [bucket.when("a"), bucket.when("b")] == [0.0, 0.0]
    assert bucket.when("c") == pytest.approx(0.1)
    clock.advance(1)
    assert bucket.when("d") == 0.0


def test_default_limiter_is_the_max_of_both() -> None:
    limiter = default_controller_rate_limiter(FakeClock())
    assert limiter.when("x") == 0.005


async def test_queue_deduplicates_and_holds_keys_being_processed() -> None:
    queue = WorkQueue(FakeClock())
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    key = await queue.get()
    assert key == "a"
    queue.add("a")  # while a worker holds it: marked dirty, not handed out again
    assert await queue.get() == "b"
    assert queue.get_nowait() is None
    queue.done("a")  # now it comes back
    assert await queue.get() == "a"
    queue.done("a")
    queue.done("b")
    assert queue.idle


async def test_add_after_fires_on_the_clock_and_earliest_deadline_wins() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock)
    queue.add_after("k", 10)
    queue.add_after("k", 3)
    queue.add_after("k", 20)  # later than the pending one: ignored
    assert queue.waiting_keys() == ["k"]
    clock.advance(2.9)
    await asyncio.sleep(0)
    assert len(queue) == 0
    clock.advance(0.2)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(queue) == 1 and queue.waiting_keys() == []


async def test_get_returns_none_after_shutdown() -> None:
    queue = WorkQueue(FakeClock())
    waiter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.shutdown()
    assert await waiter is None


async def test_fake_clock_sleep_wakes_on_advance() -> None:
    clock = FakeClock()
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(seconds)

    tasks = [asyncio.ensure_future(sleeper(s)) for s in (5, 1)]
    await asyncio.sleep(0)
    assert clock.pending_sleepers == 2 and clock.next_deadline() == 1
    clock.advance(1)
    await asyncio.sleep(0)
    assert woke == [1]
    clock.advance(4)
    await asyncio.gather(*tasks)
    assert woke == [1, 5]


def test_rfc3339_round_trip() -> None:
    clock = FakeClock()
    text = rfc3339(clock.now())
    assert text == "2025-01-01T00:00:00Z"
    assert parse_time(text) == clock.now()
    assert parse_time("garbage") is None
