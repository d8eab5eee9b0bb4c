"""Storage benchmark: SQLiteStorage against plain baselines measured in the same run.

Rows (name, figure, baseline, unit):
- creates/s of 2 KB values through SQLiteStorage with 200 concurrent writers (group
  commit), against raw sqlite3 inserts of the same bytes, one transaction per insert, with
  the same pragmas (WAL, synchronous=FULL): what a naive one-commit-per-write store gets.
- list of 5,000 keys of 2 KB in ms, against a raw sqlite3 fetch of the same rows from a
  plain table (no revisions, no consistency): the floor for reading that many bytes.
- watch fan-out: events/s delivered in total to 100 watchers while 10,000 events are
  written, against 100 asyncio.Queues fed by hand with the same events.
- etcd (when /usr/bin/etcd exists; a throwaway member on loopback): creates/s of 2 KB
  values through EtcdStorage with 200 concurrent writers (a txn each, acknowledged once
  the watch feed has it), against raw `POST /v3/kv/put` of the same bytes through the same
  JSON gateway with the same concurrency; and a list of 5,000 keys against one raw range
  request for them.

Prints nothing; `run()` returns the rows.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from tests.storage_etcd.etcd_server import etcd_available, running_etcd

from litekube.storage.etcd import EtcdStorage
from litekube.storage.etcd_client import encode, encode_bytes, key_range
from litekube.storage.sqlite import SQLiteStorage

VALUE = b"x" * 2048
CREATES = 5000
RAW_INSERTS = 2000
CONCURRENCY = 200
LIST_KEYS = 5000
WATCHERS = 100
WATCH_EVENTS = 10_000


Row = tuple[str, float, float, str]
ETCD_CREATES = 2000


async def _creates_per_second(storage: SQLiteStorage | EtcdStorage, count: int = CREATES) -> float:
    queue = iter(range(count))

    async def writer() -> None:
        for index in queue:
            await storage.create(f"/registry/bench/create/{index:06d}", VALUE)

    start = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - start)


def _raw_inserts_per_second(path: str) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value BLOB NOT NULL)")
    conn.execute("CREATE INDEX kv_name ON kv (name, id)")
    start = time.perf_counter()
    for index in range(RAW_INSERTS):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO kv (name, value) VALUES (?, ?)", (f"/registry/bench/raw/{index:06d}", VALUE)
        )
        conn.execute("COMMIT")
    rate = RAW_INSERTS / (time.perf_counter() - start)
    conn.close()
    return rate


def _raw_list_ms(path: str) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE plain (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
    conn.executemany(
        "INSERT INTO plain VALUES (?, ?)",
        ((f"/registry/bench/list/{i:06d}", VALUE) for i in range(LIST_KEYS)),
    )
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        rows = conn.execute("SELECT name, value FROM plain ORDER BY name").fetchall()
        best = min(best, (time.perf_counter() - start) * 1000)
        assert len(rows) == LIST_KEYS
    conn.close()
    return best


async def _list_ms(storage: SQLiteStorage | EtcdStorage) -> float:
    for index in range(0, LIST_KEYS, CONCURRENCY):
        await asyncio.gather(
            *(
                storage.create(f"/registry/bench/list/{i:06d}", VALUE)
                for i in range(index, min(index + CONCURRENCY, LIST_KEYS))
            )
        )
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        result = await storage.list("/registry/bench/list/")
        best = min(best, (time.perf_counter() - start) * 1000)
        assert len(result.items) == LIST_KEYS
    return best


async def _watch_events_per_second(storage: SQLiteStorage) -> float:
    from_revision = await storage.current_revision()

    async def watcher() -> None:
        seen = 0
        async for _event in storage.watch("/registry/bench/watch/", from_revision):
            seen += 1
            if seen == WATCH_EVENTS:
                return

    watchers = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
    await asyncio.sleep(0)
    start = time.perf_counter()
    queue = iter(range(WATCH_EVENTS))

    async def writer() -> None:
        for index in queue:
            await storage.create(f"/registry/bench/watch/{index:06d}", b"v")

    await asyncio.gather(*(writer() for _ in range(CONCURRENCY)))
    await asyncio.gather(*watchers)
    return WATCHERS * WATCH_EVENTS / (time.perf_counter() - start)


async def _queue_fanout_events_per_second() -> float:
    queues: list[asyncio.Queue[int]] = [asyncio.Queue() for _ in range(WATCHERS)]

    async def consumer(queue: asyncio.Queue[int]) -> None:
        for _ in range(WATCH_EVENTS):
            await queue.get()

    consumers = [asyncio.create_task(consumer(q)) for q in queues]
    start = time.perf_counter()
    for index in range(WATCH_EVENTS):
        for queue in queues:
            queue.put_nowait(index)
        if index % CONCURRENCY == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*consumers)
    return WATCHERS * WATCH_EVENTS / (time.perf_counter() - start)


async def _raw_etcd_puts_per_second(url: str) -> float:
    queue = iter(range(ETCD_CREATES))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def writer() -> None:
            for index in queue:
                body = {"key": encode(f"/registry/bench/rawput/{index:06d}"), "value": encode_bytes(VALUE)}
                async with session.post(f"{url}/v3/kv/put", data=orjson.dumps(body)) as response:
                    assert response.status == 200, await response.text()

        start = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(CONCURRENCY)))
        return ETCD_CREATES / (time.perf_counter() - start)


async def _raw_etcd_range_ms(url: str) -> float:
    body = orjson.dumps(key_range("/registry/bench/list/"))
    best = float("inf")
    async with aiohttp.ClientSession() as session:
        for _ in range(5):
            start = time.perf_counter()
            async with session.post(f"{url}/v3/kv/range", data=body) as response:
                kvs = orjson.loads(await response.read())["kvs"]
            best = min(best, (time.perf_counter() - start) * 1000)
            assert len(kvs) == LIST_KEYS
    return best


async def _etcd_rows(directory: str) -> list[Row]:
    if not etcd_available():
        return []
    with running_etcd(Path(directory) / "etcd") as url:
        storage = EtcdStorage([url], compact_interval=0)
        await storage.start()
        try:
            creates = await _creates_per_second(storage, ETCD_CREATES)
            raw_puts = await _raw_etcd_puts_per_second(url)
            list_ms = await _list_ms(storage)
            raw_range_ms = await _raw_etcd_range_ms(url)
        finally:
            await storage.close()
    return [
        ("etcd storage creates (200 concurrent, 2 KB) vs raw etcd gateway puts", creates, raw_puts, "ops/s"),
        (f"etcd storage list {LIST_KEYS} keys of 2 KB vs one raw etcd range", list_ms, raw_range_ms, "ms"),
    ]


async def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="litekube-bench-") as directory:
        storage = SQLiteStorage(os.path.join(directory, "state.db"), compact_interval=0)
        await storage.start()
        try:
            creates = await _creates_per_second(storage)
            raw_creates = await asyncio.to_thread(_raw_inserts_per_second, os.path.join(directory, "raw.db"))
            list_ms = await _list_ms(storage)
            raw_list_ms = await asyncio.to_thread(_raw_list_ms, os.path.join(directory, "plain.db"))
            watch_rate = await _watch_events_per_second(storage)
            queue_rate = await _queue_fanout_events_per_second()
        finally:
            await storage.close()
        etcd_rows = await _etcd_rows(directory)
    return [
        ("storage creates (200 concurrent, 2 KB) vs raw sqlite3 txn/insert", creates, raw_creates, "ops/s"),
        (f"storage list {LIST_KEYS} keys of 2 KB vs raw sqlite3 fetch", list_ms, raw_list_ms, "ms"),
        (
            f"storage watch fan-out {WATCHERS} watchers x {WATCH_EVENTS} events vs asyncio.Queue fan-out",
            watch_rate,
            queue_rate,
            "events/s",
        ),
        *etcd_rows,
    ]
