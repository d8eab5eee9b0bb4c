"""compact(): history goes, latest values stay; on both backends, plus SQLite persistence."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from litekube.storage.sqlite import SQLiteStorage
from litekube.storage.types import CompactedError, FutureRevisionError, KeyValue, Storage


async def test_compaction_keeps_latest_values(storage: Storage) -> None:
    await storage.create("/c/a", b"a1")  # 1
    await storage.update("/c/a", b"a2", None)  # 2
    await storage.create("/c/b", b"b1")  # 3
    await storage.delete("/c/b", None)  # 4
    await storage.create("/c/d", b"d1")  # 5
    await storage.update("/c/a", b"a3", None)  # 6, after the compaction point
    await storage.compact(5)
    assert await storage.compacted_revision() == 5

    assert await storage.get("/c/a") == KeyValue("/c/a", b"a3", 1, 6)
    assert await storage.get("/c/b") is None
    at_compacted = await storage.list("/c/", revision=5)
    assert [(kv.key, kv.value) for kv in at_compacted.items] == [("/c/a", b"a2"), ("/c/d", b"d1")]
    now = await storage.list("/c/")
    assert [(kv.key, kv.value) for kv in now.items] == [("/c/a", b"a3"), ("/c/d", b"d1")]
    with pytest.raises(CompactedError):
        await storage.list("/c/", revision=4)
    # A watch from the compacted revision still has the update's previous value.
    watch = storage.watch("/c/", 5)
    async with asyncio.timeout(5):
        event = await anext(aiter(watch))
    assert event.prev == KeyValue("/c/a", b"a2", 1, 2)
    await watch.aclose()


async def test_compaction_is_monotonic_and_bounded(storage: Storage) -> None:
    await storage.create("/a", b"1")
    await storage.update("/a", b"2", None)
    with pytest.raises(FutureRevisionError):
        await storage.compact(3)
    await storage.compact(2)
    await storage.compact(1)  # older than what is compacted: nothing happens
    assert await storage.compacted_revision() == 2
    assert await storage.current_revision() == 2


async def test_writes_continue_after_compaction(storage: Storage) -> None:
    await storage.create("/a", b"1")
    await storage.delete("/a", None)
    await storage.compact(2)  # the newest row, a tombstone, is gone
    assert await storage.current_revision() == 2
    assert await storage.create("/a", b"again") == 3


async def test_sqlite_compaction_deletes_rows_and_persists(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    storage = SQLiteStorage(path, compact_interval=0, compact_chunk=7)
    await storage.start()
    for index in range(20):
        await storage.create(f"/k/{index}", b"v0" * 2000)
    for round_ in range(1, 5):
        for index in range(20):
            await storage.update(f"/k/{index}", f"v{round_}".encode(), None)
    await storage.delete("/k/0", None)  # 101, the newest row: a tombstone
    await storage.compact(101)
    await storage.close()

    conn = sqlite3.connect(path)
    try:
        (rows,) = conn.execute("SELECT COUNT(*) FROM kv").fetchone()
        (free_pages,) = conn.execute("PRAGMA freelist_count").fetchone()
    finally:
        conn.close()
    assert rows == 19  # one per live key
    assert free_pages == 0  # incremental_vacuum gave the freed pages back

    reopened = SQLiteStorage(path, compact_interval=0)
    await reopened.start()
    try:
        assert await reopened.current_revision() == 101  # though the newest row is gone
        assert await reopened.compacted_revision() == 101
        assert await reopened.create("/k/new", b"v") == 102
        listed = await reopened.list("/k/")
        assert len(listed.items) == 20
        assert all(kv.value == b"v4" for kv in listed.items if kv.key != "/k/new")
    finally:
        await reopened.close()


async def test_sqlite_background_compaction(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "state.db"), compact_interval=0.02, compact_retain=10)
    await storage.start()
    try:
        await storage.create("/a", b"0")
        for index in range(1, 50):
            await storage.update("/a", str(index).encode(), None)
        for _ in range(500):  # the compactor runs every 20 ms
            if await storage.compacted_revision() >= 40:
                break
            await asyncio.sleep(0.01)
        assert await storage.compacted_revision() == 40
        assert (await storage.list("/", revision=40)).items[0].value == b"39"
    finally:
        await storage.close()


async def test_background_compaction_keeps_the_newest_revisions(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "bg.db"), compact_interval=0.05, compact_retain=3)
    await storage.start()
    try:
        for i in range(10):
            await storage.create(f"/k/{i}", b"v")
        for _ in range(100):
            if await storage.compacted_revision() == 7:
                break
            await asyncio.sleep(0.05)
        assert await storage.compacted_revision() == 7  # revisions 8..10 kept
        with pytest.raises(CompactedError):
            await storage.list("/k/", revision=5)
    finally:
        await storage.close()
