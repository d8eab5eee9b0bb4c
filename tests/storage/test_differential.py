"""Random operation sequences give identical answers in memory and on SQLite or etcd."""

from __future__ import annotations

import asyncio
import random
from contextlib import ExitStack
from pathlib import Path

import pytest

from litekube.storage.etcd import EtcdStorage
from litekube.storage.memory import MemoryStorage
from litekube.storage.sqlite import SQLiteStorage
from litekube.storage.types import Storage, StorageError, WatchEvent
from tests.storage_etcd.etcd_server import running_etcd


async def apply(storage: Storage, op: tuple[str, str, int | None]) -> object:
    kind, key, expected = op
    try:
        if kind == "create":
            return await storage.create(key, key.encode() + b"!")
        if kind == "update":
            return await storage.update(key, f"{key}@{expected}".encode(), expected)
        if kind == "delete":
            return await storage.delete(key, expected)
        await storage.compact(expected or 0)
        return await storage.compacted_revision()
    except StorageError as error:
        return type(error).__name__


async def drain(storage: Storage, upto: int) -> list[WatchEvent]:
    events: list[WatchEvent] = []
    if upto == 0:
        return events
    async with asyncio.timeout(5):
        async for event in storage.watch("/", await storage.compacted_revision()):
            events.append(event)
            if event.kv.mod_revision == upto:
                break
    return events


@pytest.mark.parametrize("backend", ["sqlite", "etcd"])
async def test_backends_agree_on_random_histories(tmp_path: Path, backend: str) -> None:
    rng = random.Random(7)
    keys = [f"/{group}/{name}" for group in "ab" for name in "wxyz"]
    for run in range(5):
        with ExitStack() as stack:
            memory = MemoryStorage()
            other: Storage
            if backend == "sqlite":
                other = SQLiteStorage(str(tmp_path / f"{run}.db"), compact_interval=0, watch_cache_size=3)
            else:
                url = stack.enter_context(running_etcd(tmp_path / f"etcd{run}"))
                other = EtcdStorage(
                    [url], compact_interval=0, watch_cache_size=3, replay_chunk=4, list_page=2
                )
            await memory.start()
            await other.start()
            try:
                await agree_on_random_history(rng, keys, memory, other)
            finally:
                await memory.close()
                await other.close()


async def agree_on_random_history(
    rng: random.Random, keys: list[str], memory: Storage, other: Storage
) -> None:
    for _ in range(150):
        current = await memory.current_revision()
        kind = rng.choice(["create", "create", "update", "update", "delete", "compact"])
        expected = rng.choice([None, rng.randint(0, current + 1)])
        if kind == "compact":
            expected = rng.randint(0, current)
        op = (kind, rng.choice(keys), expected)
        assert await apply(memory, op) == await apply(other, op), op

        revision = rng.randint(0, current)
        limit = rng.choice([0, 1, 3])
        start_after = rng.choice([None, *keys])
        prefix = rng.choice(["/", "/a/", "/b/"])
        answers: list[object] = []
        for storage in (memory, other):
            try:
                answers.append(await storage.list(prefix, revision, limit, start_after))
            except StorageError as error:
                answers.append(type(error).__name__)
        assert answers[0] == answers[1], (prefix, revision, limit, start_after)
        for key in rng.sample(keys, 2):
            assert await memory.get(key) == await other.get(key)
    upto = await memory.current_revision()
    assert await drain(memory, upto) == await drain(other, upto)
