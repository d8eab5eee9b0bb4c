"""SQLite errors inside a group commit fail that batch cleanly; the writer carries on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from litekube.storage import sqlite_schema
from litekube.storage.sqlite import SQLiteStorage
from litekube.storage.types import KeyValue, StorageError


async def test_failed_batch_fails_its_writes_and_takes_no_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = SQLiteStorage(str(tmp_path / "state.db"), compact_interval=0)
    await storage.start()
    try:
        await storage.create("/ok", b"1")
        watch = storage.watch("/", 1)
        monkeypatch.setattr(sqlite_schema, "INSERT_ROW", "INSERT INTO no_such_table VALUES (?)")
        results = await asyncio.gather(
            *(storage.create(f"/fail/{i}", b"x") for i in range(5)), return_exceptions=True
        )
        assert all(isinstance(result, StorageError) for result in results)
        assert await storage.current_revision() == 1
        monkeypatch.undo()

        assert await storage.create("/after", b"2") == 2
        assert await storage.get("/after") == KeyValue("/after", b"2", 2, 2)
        assert [kv.key for kv in (await storage.list("/")).items] == ["/after", "/ok"]
        async with asyncio.timeout(5):
            event = await anext(watch)  # nothing from the failed batch reached watchers
        assert event.kv.key == "/after"
        await watch.aclose()
    finally:
        await storage.close()


async def test_closed_storage_refuses_work(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "state.db"), compact_interval=0)
    await storage.start()
    await storage.close()
    await storage.close()  # idempotent
    with pytest.raises(StorageError):
        await storage.create("/a", b"1")
    with pytest.raises(StorageError):
        await storage.get("/a")
