"""SQLite watch paths the memory backend does not have: replay from the log table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from litekube.storage.sqlite import SQLiteStorage
from litekube.storage.types import CompactedError
from tests.storage.test_watch import take


async def test_watch_replays_history_from_before_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    first = SQLiteStorage(path, compact_interval=0)
    await first.start()
    rev = await first.create("/r/a", b"1")
    await first.update("/r/a", b"2", rev)
    await first.create("/s/skip", b"x")
    await first.delete("/r/a", None)
    await first.close()

    second = SQLiteStorage(path, compact_interval=0)
    await second.start()
    try:
        watch = second.watch("/r/", 0)  # the ring is empty after a restart: all from the log
        replayed = await take(watch, 3)
        assert [(e.type, e.kv.mod_revision, e.kv.value) for e in replayed] == [
            ("PUT", 1, b"1"),
            ("PUT", 2, b"2"),
            ("DELETE", 4, b"2"),
        ]
        assert replayed[0].prev is None
        assert replayed[1].prev is not None and replayed[1].prev.value == b"1"
        assert replayed[2].prev is not None and replayed[2].prev.mod_revision == 2
        await second.create("/r/live", b"v")
        (live,) = await take(watch, 1)
        assert live.kv.mod_revision == 5
    finally:
        await second.close()


async def test_slow_watcher_behind_a_small_ring_switches_to_log_without_gaps(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "s.db"), compact_interval=0, watch_cache_size=8, replay_chunk=5)
    await storage.start()
    try:
        watch = storage.watch("/k/", 0)
        for index in range(100):
            await storage.create(f"/k/{index:03d}", b"v")
            if index % 10 == 0:
                await storage.create(f"/other/{index}", b"filtered")
        events = await take(watch, 60)
        # Keep writing while the watcher is in the middle, so it crosses ring and log.
        writer = asyncio.gather(*(storage.create(f"/k/late{index:03d}", b"v") for index in range(50)))
        events += await take(watch, 90)
        await writer
        keys = [e.kv.key for e in events]
        assert keys == [f"/k/{i:03d}" for i in range(100)] + sorted(keys[100:])
        assert len(set(keys)) == 150
        revisions = [e.kv.mod_revision for e in events]
        assert revisions == sorted(revisions)
    finally:
        await storage.close()


async def test_watcher_in_replay_fails_when_compaction_passes_it(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "s.db"), compact_interval=0, watch_cache_size=4, replay_chunk=2)
    await storage.start()
    try:
        for index in range(40):
            await storage.create(f"/k/{index}", b"v")
        watch = storage.watch("/k/", 0)
        await take(watch, 2)  # position 2, far behind the ring
        await storage.compact(30)
        with pytest.raises(CompactedError):
            await take(watch, 10)
    finally:
        await storage.close()
