"""watch(): replay from the past, live events, filtering, ending; on both backends."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest

from litekube.storage.types import CompactedError, KeyValue, Storage, WatchEvent


async def take(events: AsyncIterator[WatchEvent], count: int, seconds: float = 5.0) -> list[WatchEvent]:
    taken: list[WatchEvent] = []
    async with asyncio.timeout(seconds):
        async for event in events:
            taken.append(event)
            if len(taken) == count:
                break
    return taken


async def test_watch_from_past_then_live_has_no_gap_or_duplicate(storage: Storage) -> None:
    await storage.create("/w/a", b"1")  # rev 1
    await storage.update("/w/a", b"2", None)  # rev 2
    await storage.create("/other/x", b"x")  # rev 3, filtered out
    await storage.delete("/w/a", None)  # rev 4

    watch = storage.watch("/w/", from_revision=1)
    first = await take(watch, 2)
    assert [(e.type, e.kv.mod_revision) for e in first] == [("PUT", 2), ("DELETE", 4)]

    update, delete = first
    assert update.prev == KeyValue("/w/a", b"1", 1, 1)
    assert not update.created
    assert delete.kv == KeyValue("/w/a", b"2", 1, 4)
    assert delete.prev == KeyValue("/w/a", b"2", 1, 2)

    await storage.create("/w/b", b"live")  # rev 5
    (live,) = await take(watch, 1)
    assert live.created and live.kv == KeyValue("/w/b", b"live", 5, 5) and live.prev is None
    await watch.aclose()


async def test_watch_from_current_sees_only_new_events(storage: Storage) -> None:
    await storage.create("/a", b"1")
    watch = storage.watch("/", from_revision=await storage.current_revision())
    consumer = asyncio.create_task(take(watch, 3))
    await asyncio.sleep(0.01)
    rev = await storage.create("/b", b"2")
    await storage.update("/b", b"3", rev)
    await storage.update("/a", b"4", None)
    events = await consumer
    assert [e.kv.mod_revision for e in events] == [2, 3, 4]
    assert [e.kv.key for e in events] == ["/b", "/b", "/a"]


async def test_many_watchers_each_get_everything_in_order(storage: Storage) -> None:
    watchers = [take(storage.watch("/", 0), 50) for _ in range(20)]
    consumers = [asyncio.create_task(w) for w in watchers]
    await asyncio.sleep(0.01)
    await asyncio.gather(*(storage.create(f"/k/{i}", b"v") for i in range(50)))
    results = await asyncio.gather(*consumers)
    for events in results:
        assert [e.kv.mod_revision for e in events] == list(range(1, 51))


async def test_watch_from_compacted_revision_raises(storage: Storage) -> None:
    for index in range(5):
        await storage.create(f"/c/{index}", b"v")
    await storage.compact(3)
    with pytest.raises(CompactedError) as caught:
        await take(storage.watch("/c/", from_revision=2), 1)
    assert caught.value.compacted == 3
    # From the compacted revision itself is fine: every later event still exists.
    events = await take(storage.watch("/c/", from_revision=3), 2)
    assert [e.kv.key for e in events] == ["/c/3", "/c/4"]


async def test_close_ends_watch(storage: Storage) -> None:
    watch = storage.watch("/", 0)
    consumer = asyncio.create_task(take(watch, 100))
    await storage.create("/a", b"1")
    await asyncio.sleep(0.01)
    await storage.close()
    async with asyncio.timeout(5):
        events = await consumer  # ended by close(), not by reaching 100 events
    assert [e.kv.key for e in events] == ["/a"]


async def test_abandoned_watch_leaves_no_task(storage: Storage) -> None:
    tasks_before = len(asyncio.all_tasks())
    for _ in range(10):
        watch = storage.watch("/", 0)
        consumer = asyncio.create_task(take(watch, 1, seconds=0.05))
        with pytest.raises(TimeoutError):
            await consumer  # waiting for an event when the consumer gives up
        await watch.aclose()
    gc.collect()
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == tasks_before
    # The storage still serves new watchers afterwards.
    watch = storage.watch("/", 0)
    await storage.create("/after", b"v")
    assert [e.kv.key for e in await take(watch, 1)] == ["/after"]
