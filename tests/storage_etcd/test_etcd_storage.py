"""EtcdStorage paths the shared contract tests do not reach: history across restarts,
the ring → replay switch, compaction found at start, and the feed surviving an etcd restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from litekube.storage.etcd import EtcdStorage
from litekube.storage.types import CompactedError, KeyValue, StorageError
from tests.conftest import free_port
from tests.storage.test_watch import take
from tests.storage_etcd.etcd_server import running_etcd


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[str]:
    with running_etcd(tmp_path) as url:
        yield url


@pytest.fixture
async def storage(etcd: str) -> AsyncIterator[EtcdStorage]:
    backend = EtcdStorage([etcd], compact_interval=0)
    await backend.start()
    yield backend
    await backend.close()


async def test_a_new_instance_replays_history_written_by_the_last(etcd: str) -> None:
    first = EtcdStorage([etcd], compact_interval=0)
    await first.start()
    rev = await first.create("/r/a", b"1")
    await first.update("/r/a", b"2", rev)
    await first.create("/s/skip", b"x")
    await first.delete("/r/a", None)
    await first.close()

    second = EtcdStorage([etcd], compact_interval=0)
    await second.start()
    try:
        assert await second.current_revision() == 4
        watch = second.watch("/r/", 0)  # the ring is empty after a restart: all from etcd
        replayed = await take(watch, 3)
        assert [(e.type, e.kv.mod_revision, e.kv.value) for e in replayed] == [
            ("PUT", 1, b"1"),
            ("PUT", 2, b"2"),
            ("DELETE", 4, b"2"),
        ]
        assert replayed[0].prev is None
        assert replayed[1].prev == KeyValue("/r/a", b"1", 1, 1)
        assert replayed[2].prev == KeyValue("/r/a", b"2", 1, 2)
        assert replayed[2].kv.create_revision == 1
        await second.create("/r/live", b"v")
        (live,) = await take(watch, 1)
        assert live.kv.mod_revision == 5 and live.created
    finally:
        await second.close()


async def test_slow_watcher_behind_a_small_ring_reads_etcd_without_gaps(etcd: str) -> None:
    storage = EtcdStorage([etcd], compact_interval=0, watch_cache_size=8, replay_chunk=5)
    await storage.start()
    try:
        watch = storage.watch("/k/", 0)
        for index in range(60):
            await storage.create(f"/k/{index:03d}", b"v")
            if index % 10 == 0:
                await storage.create(f"/other/{index}", b"filtered")
        events = await take(watch, 30)
        writer = asyncio.gather(*(storage.create(f"/k/late{index:03d}", b"v") for index in range(30)))
        events += await take(watch, 60)
        await writer
        keys = [e.kv.key for e in events]
        # Concurrent creates reach etcd in any order: the late ones only as a set.
        assert keys[:60] == [f"/k/{i:03d}" for i in range(60)]
        assert sorted(keys[60:]) == [f"/k/late{i:03d}" for i in range(30)]
        revisions = [e.kv.mod_revision for e in events]
        assert revisions == sorted(revisions)
    finally:
        await storage.close()


async def test_compaction_is_found_again_after_a_restart(etcd: str) -> None:
    first = EtcdStorage([etcd], compact_interval=0)
    await first.start()
    for index in range(20):
        await first.create(f"/c/{index}", str(index).encode())
    await first.compact(13)
    await first.close()

    second = EtcdStorage([etcd], compact_interval=0)
    await second.start()
    try:
        assert await second.compacted_revision() == 13
        with pytest.raises(CompactedError):
            await second.list("/c/", revision=12)
        assert len((await second.list("/c/", revision=13)).items) == 13
        with pytest.raises(CompactedError):
            await take(second.watch("/c/", 5), 1)
    finally:
        await second.close()


async def test_list_pages_through_etcd_at_one_revision(etcd: str) -> None:
    storage = EtcdStorage([etcd], compact_interval=0, list_page=3)
    await storage.start()
    try:
        for index in range(10):
            await storage.create(f"/p/{index}", b"v")
        revision = await storage.current_revision()
        await storage.delete("/p/4", None)
        everything = await storage.list("/p/", revision=revision)
        assert [kv.key for kv in everything.items] == [f"/p/{i}" for i in range(10)]
        page = await storage.list("/p/", limit=7)
        assert len(page.items) == 7 and page.more
        rest = await storage.list("/p/", revision=page.revision, start_after=page.items[-1].key)
        assert [kv.key for kv in page.items + rest.items] == [f"/p/{i}" for i in range(10) if i != 4]
        assert not rest.more
    finally:
        await storage.close()


async def test_feed_resumes_after_etcd_restarts(tmp_path: Path) -> None:
    port = free_port()
    with running_etcd(tmp_path, client_port=port) as url:
        storage = EtcdStorage([url], compact_interval=0)
        await storage.start()
        await storage.create("/f/a", b"1")
        watch = storage.watch("/f/", 0)
        assert [e.kv.key for e in await take(watch, 1)] == ["/f/a"]
    try:
        with pytest.raises(StorageError):  # etcd is down: writes fail, nothing hangs
            await storage.create("/f/down", b"x")
        with running_etcd(tmp_path, client_port=port):  # same data dir, same port
            async with asyncio.timeout(10):
                while True:  # until a write goes through (the feed reconnects by itself)
                    try:
                        revision = await storage.create("/f/b", b"2")
                        break
                    except StorageError:
                        await asyncio.sleep(0.05)
            (event,) = await take(watch, 1)
            assert (event.kv.key, event.kv.mod_revision) == ("/f/b", revision)
            assert await storage.get("/f/b") == KeyValue("/f/b", b"2", revision, revision)
            await storage.close()
    finally:
        await storage.close()


async def test_a_silent_feed_is_reconnected_and_the_write_acknowledged(etcd: str) -> None:
    storage = EtcdStorage([etcd], compact_interval=0, feed_stall=0.1)
    await storage.start()
    try:
        watch = storage.watch("/s/", 0)
        # Stand-in for a stream on a member cut off from the leader: open, but silent.
        assert storage._feed is not None
        storage._feed.cancel()
        storage._feed = asyncio.create_task(asyncio.sleep(3600))
        revision = await storage.create("/s/a", b"1")
        (event,) = await take(watch, 1)
        assert (event.kv.key, event.kv.mod_revision) == ("/s/a", revision)
        assert await storage.current_revision() == revision
    finally:
        await storage.close()


async def test_second_endpoint_is_used_when_the_first_is_down(etcd: str) -> None:
    storage = EtcdStorage([f"http://127.0.0.1:{free_port()}", etcd], compact_interval=0)
    await storage.start()
    try:
        revision = await storage.create("/e/a", b"1")
        assert await storage.get("/e/a") == KeyValue("/e/a", b"1", revision, revision)
    finally:
        await storage.close()


async def test_unreachable_etcd_fails_start(tmp_path: Path) -> None:
    storage = EtcdStorage([f"http://127.0.0.1:{free_port()}"], compact_interval=0)
    with pytest.raises(StorageError, match="no etcd endpoint reachable"):
        await storage.start()
