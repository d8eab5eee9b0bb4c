"""SQLiteStorage: the default backend, a kine-style revision log in one SQLite file (WAL).

Flow of a write: create()/update()/delete() put a job on the writer thread's queue
(`sqlite_writer.py`), which checks preconditions and appends a log row inside a group
commit; after COMMIT the loop publishes the batch's events to the `Broadcaster` and then
resolves the callers' futures. So once a write is acknowledged it is durable, visible to
get()/list() and already in every watcher's stream.

Flow of a read: get(), list() and watch replay run single SELECT statements (each one a
consistent snapshot in WAL mode) on a small pool of reader threads, each with its own
connection, so reads never wait for the writer or block the event loop. get() first looks
in `_latest`, the current value of every key written since start (filled as commits are
published, so it is exactly the published revision's state), which spares the thread hop
for the reads that follow writes (a controller's read-modify-write); a key it does not
hold is read from SQLite and remembered unless a commit was published meanwhile. get() and list()
at revision 0 read at the last published revision, the one watchers have reached, so a
list followed by a watch from its revision has neither gap nor overlap, and a revision a
reader has seen is never "in the future" for list().

Compaction (`compact()`, and a background task every `compact_interval` seconds that
compacts to current - `compact_retain`) first raises the in-memory compacted revision, so
no new read starts below it, then deletes history in id chunks through the writer queue,
letting ordinary writes interleave. Readers re-check the compacted revision after reading,
so a read that raced a compaction fails with CompactedError instead of returning holes.

Recovery needs no work: the current revision is the largest id in the log, or the recorded
compacted revision if compaction removed the newest row (a tombstone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from litekube.storage import sqlite_schema as sql
from litekube.storage.broadcast import Broadcaster
from litekube.storage.compaction import compact_periodically
from litekube.storage.sqlite_writer import Completion, Op, SQLiteWriter, WriteJob
from litekube.storage.types import (
    CompactedError,
    FutureRevisionError,
    KeyValue,
    ListResult,
    StorageError,
    WatchEvent,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
# Aliases, because inside the class `list` names the list() method, not the builtin.
ListRows = list[tuple[str, int, int, bytes]]
ReplayRows = list[tuple[Any, ...]]
Events = list[WatchEvent]


class SQLiteStorage:
    def __init__(
        self,
        path: str,
        *,
        compact_interval: float = 300.0,
        compact_retain: int = 1000,
        watch_cache_size: int = 10_000,
        replay_chunk: int = 1000,
        compact_chunk: int = 5000,
        readers: int = 2,
    ) -> None:
        self._path = path
        self._compact_interval = compact_interval
        self._compact_retain = compact_retain
        self._watch_cache_size = watch_cache_size
        self._replay_chunk = replay_chunk
        self._compact_chunk = compact_chunk
        self._reader_count = readers
        self._compacted = 0
        self._closed = False
        self._started = False
        self._local = threading.local()
        # key -> its value at the published revision; deleted keys leave (see get()).
        self._latest: dict[str, KeyValue] = {}
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._compact_lock = asyncio.Lock()
        self._compactor: asyncio.Task[None] | None = None
        # Set in start(); typed here so every method can use them.
        self._loop: asyncio.AbstractEventLoop
        self._readers: ThreadPoolExecutor
        self._writer: SQLiteWriter
        self._broadcaster: Broadcaster

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        revision, self._compacted = await asyncio.to_thread(self._recover)
        self._broadcaster = Broadcaster(
            revision,
            capacity=self._watch_cache_size,
            replay=self._replay,
            compacted=lambda: self._compacted,
        )
        self._readers = ThreadPoolExecutor(
            self._reader_count, thread_name_prefix="litekube-sqlite-read", initializer=self._open_reader
        )
        self._writer = SQLiteWriter(self._path, self._loop, self._on_commit, revision)
        self._writer.start()
        self._started = True
        if self._compact_interval > 0:
            self._compactor = asyncio.create_task(
                compact_periodically(self, self._broadcaster, self._compact_interval, self._compact_retain),
                name="storage-compactor",
            )

    def _recover(self) -> tuple[int, int]:
        directory = os.path.dirname(os.path.abspath(self._path))
        os.makedirs(directory, exist_ok=True)
        conn = sql.connect(self._path, writer=True)  # creates the schema on a new file
        try:
            (max_id,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM kv").fetchone()
            row = conn.execute(sql.GET_COMPACTED).fetchone()
        finally:
            conn.close()
        compacted = row[0] if row else 0
        return max(max_id, compacted), compacted

    def _open_reader(self) -> None:
        conn = sql.connect(self._path, writer=False)
        self._local.conn = conn
        with self._reader_lock:
            self._reader_conns.append(conn)

    async def close(self) -> None:
        if not self._started or self._closed:
            return
        self._closed = True
        # Watchers end first: nothing they could still receive matters to a closing server.
        self._broadcaster.close()
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
        # The stop job queues behind every write already submitted, so they all commit.
        stopped: asyncio.Future[object] = self._loop.create_future()
        self._writer.submit(WriteJob("stop", stopped))
        await stopped
        await asyncio.to_thread(self._readers.shutdown, True)
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()

    # -- reads -------------------------------------------------------------------------

    def _read(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        if self._closed or not self._started:
            raise StorageError("storage is not open")
        return self._loop.run_in_executor(self._readers, fn, *args)

    async def current_revision(self) -> int:
        return self._broadcaster.last_revision

    async def compacted_revision(self) -> int:
        return self._compacted

    async def get(self, key: str) -> KeyValue | None:
        # Read at the published revision, like list(): a write committed but not yet
        # acknowledged stays invisible, so a revision seen here is one list() accepts.
        kv = self._latest.get(key)
        if kv is not None and not self._closed:
            return kv
        revision = self._broadcaster.last_revision
        kv = await self._read(self._get_sync, key, revision)
        if kv is not None and self._broadcaster.last_revision == revision:
            # Nothing was published while reading, so this is still the latest value.
            self._latest[key] = kv
        return kv

    def _get_sync(self, key: str, revision: int) -> KeyValue | None:
        row = self._local.conn.execute(sql.ROW_AT, (key, revision)).fetchone()
        if row is None or row[2]:
            return None
        return KeyValue(key, row[3], row[1], row[0])

    async def list(
        self,
        prefix: str,
        revision: int = 0,
        limit: int = 0,
        start_after: str | None = None,
    ) -> ListResult:
        current = self._broadcaster.last_revision
        if revision <= 0:
            revision = current
        elif revision > current:
            raise FutureRevisionError(f"revision {revision} is newer than the current revision {current}")
        self._check_compacted(revision)
        rows = await self._read(self._list_sync, prefix, revision, limit, start_after)
        self._check_compacted(revision)
        more = 0 < limit < len(rows)
        items = [KeyValue(name, value, create_rev, mod_rev) for name, create_rev, mod_rev, value in rows]
        return ListResult(revision, items[:limit] if more else items, more)

    def _list_sync(self, prefix: str, revision: int, limit: int, start_after: str | None) -> ListRows:
        range_sql, params = sql.key_range(prefix, start_after)
        # One row past the limit tells whether there is more.
        args = (*params, revision, limit + 1 if limit > 0 else -1)
        rows: ListRows = self._local.conn.execute(sql.list_sql(range_sql), args).fetchall()
        rows.sort()  # keys are unique, so this orders by key alone
        return rows

    def _check_compacted(self, revision: int) -> None:
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)

    # -- watch -------------------------------------------------------------------------

    def watch(self, prefix: str, from_revision: int) -> AsyncGenerator[WatchEvent, None]:
        if self._closed or not self._started:
            raise StorageError("storage is not open")
        return self._broadcaster.follow(prefix, from_revision)

    async def _replay(self, prefix: str, after: int, upto: int) -> tuple[Events, int]:
        if self._closed:  # the broadcaster is closed too: the watcher ends at its next check
            return [], upto
        self._check_compacted(after)
        rows = await self._read(self._replay_sync, prefix, after, upto)
        self._check_compacted(after)
        events: Events = []
        for row_id, name, created, deleted, create_rev, prev_rev, value, prev_value in rows:
            kv = KeyValue(name, value, create_rev, row_id)
            if deleted:
                events.append(WatchEvent("DELETE", kv, KeyValue(name, value, create_rev, prev_rev)))
            elif created or prev_value is None:
                events.append(WatchEvent("PUT", kv, None))
            else:
                events.append(WatchEvent("PUT", kv, KeyValue(name, prev_value, create_rev, prev_rev)))
        position = rows[-1][0] if len(rows) == self._replay_chunk else upto
        return events, position

    def _replay_sync(self, prefix: str, after: int, upto: int) -> ReplayRows:
        range_sql, params = sql.key_range(prefix, column="kv.name")
        query = f"{sql.REPLAY_COLUMNS} WHERE kv.id > ? AND kv.id <= ? AND {range_sql} ORDER BY kv.id LIMIT ?"
        return self._local.conn.execute(query, (after, upto, *params, self._replay_chunk)).fetchall()

    # -- writes ------------------------------------------------------------------------

    async def _submit(self, op: Op, **fields: Any) -> object:
        if self._closed or not self._started:
            raise StorageError("storage is not open")
        future: asyncio.Future[object] = self._loop.create_future()
        self._writer.submit(WriteJob(op, future, **fields))
        return await future

    def _on_commit(self, done: Completion, events: Events) -> None:
        # Publish before acknowledging: a caller that watches from the revision it just got
        # must find its own write in the ring (or beyond it), never missing.
        self._broadcaster.publish(events)
        latest = self._latest
        for event in events:
            if event.type == "DELETE":
                latest.pop(event.kv.key, None)
            else:
                latest[event.kv.key] = event.kv
        for future, outcome in done:
            if future.done():  # the caller gave up (cancelled); the write stands regardless
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def create(self, key: str, value: bytes) -> int:
        return cast(int, await self._submit("create", key=key, value=value))

    async def update(self, key: str, value: bytes, expected_revision: int | None) -> int:
        return cast(int, await self._submit("update", key=key, value=value, expected=expected_revision))

    async def delete(self, key: str, expected_revision: int | None) -> tuple[int, KeyValue]:
        return cast(tuple[int, KeyValue], await self._submit("delete", key=key, expected=expected_revision))

    # -- compaction --------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        async with self._compact_lock:
            if revision <= self._compacted:
                return
            current = self._broadcaster.last_revision
            if revision > current:
                raise FutureRevisionError(f"cannot compact to {revision}: current revision is {current}")
            low = await self._read(self._min_id_sync)
            # Raise the bar before deleting anything: reads that start now fail cleanly.
            self._compacted = revision
            high = revision + 1
            starts = list(range(low, high, self._compact_chunk)) or [high]
            for index, start in enumerate(starts):
                await self._submit(
                    "compact",
                    low=start,
                    high=min(start + self._compact_chunk, high),
                    revision=revision,
                    record=index == 0,
                    vacuum=index == len(starts) - 1,
                )

    def _min_id_sync(self) -> int:
        (low,) = self._local.conn.execute("SELECT COALESCE(MIN(id), 0) FROM kv").fetchone()
        return int(low)
