"""The one thread that writes the SQLite log, with group commit.

Flow: the event loop puts a `WriteJob` (carrying an asyncio future) on a thread-safe
queue. The writer thread takes the first job, then everything else already queued (up to
`max_batch`), and applies them all inside one BEGIN IMMEDIATE ... COMMIT. While that
COMMIT waits for fsync, new jobs pile up and form the next batch, so the fsync cost is
shared by every write that arrived meanwhile, without any artificial delay for a lone
writer. Only after COMMIT returns does the thread hand the batch back to the loop (one
call_soon_threadsafe per batch), which publishes the events to watchers and then resolves
the futures: nothing is acknowledged before it is durable.

Preconditions (key exists, expected revision) are checked here, inside the transaction
that writes, so two concurrent updates with the same expected revision cannot both pass.
A precondition failure fails only its own job; an SQLite error rolls back and fails the
whole batch, and the revision counter is restored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from litekube.storage import sqlite_schema as sql
from litekube.storage.types import (
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    StorageError,
    WatchEvent,
)

log = logging.getLogger(__name__)

Op = Literal["create", "update", "delete", "compact", "stop"]
# What a job resolves to: a revision, (revision, deleted value), None, or an exception.
Outcome = int | tuple[int, KeyValue] | None | BaseException
Completion = list[tuple["asyncio.Future[object]", Outcome]]


@dataclass(slots=True)
class WriteJob:
    op: Op
    future: asyncio.Future[object]
    key: str = ""
    value: bytes = b""
    expected: int | None = None
    # compact: delete ids in [low, high) that are history as of `revision`; `record`
    # stores `revision` as the compacted revision; `vacuum` returns free pages to the OS.
    low: int = 0
    high: int = 0
    revision: int = 0
    record: bool = False
    vacuum: bool = False


class SQLiteWriter:
    def __init__(
        self,
        path: str,
        loop: asyncio.AbstractEventLoop,
        on_commit: Callable[[Completion, list[WatchEvent]], None],
        revision: int,
        *,
        max_batch: int = 1000,
    ) -> None:
        self._path = path
        self._loop = loop
        self._on_commit = on_commit
        self._revision = revision  # the last revision written (touched only by the thread)
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[WriteJob] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="litekube-sqlite-writer", daemon=True)
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: WriteJob) -> None:
        self._queue.put(job)

    def _run(self) -> None:
        self._conn = sql.connect(self._path, writer=True)
        try:
            stopping = False
            while not stopping:
                batch = [self._queue.get()]
                while len(batch) < self._max_batch:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stopping = any(job.op == "stop" for job in batch)
                self._commit_batch(batch)
        finally:
            self._conn.close()

    def _commit_batch(self, batch: list[WriteJob]) -> None:
        assert self._conn is not None
        cursor = self._conn.cursor()
        revision = self._revision
        done: Completion = []
        events: list[WatchEvent] = []
        try:
            cursor.execute("BEGIN IMMEDIATE")
            for job in batch:
                try:
                    outcome, event, revision = self._apply(cursor, job, revision)
                except StorageError as error:
                    outcome, event = error, None
                done.append((job.future, outcome))
                if event is not None:
                    events.append(event)
            cursor.execute("COMMIT")
        except Exception as error:  # SQLite I/O errors, or a bug: never leave futures hanging
            log.exception("storage batch of %d writes failed", len(batch))
            if self._conn.in_transaction:
                self._conn.rollback()
            failure = StorageError(f"storage write failed: {error}")
            done = [(job.future, failure) for job in batch]
            events = []
        else:
            self._revision = revision
        try:
            self._loop.call_soon_threadsafe(self._on_commit, done, events)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass
        if any(job.vacuum for job in batch) and not self._conn.in_transaction:
            self._vacuum()

    def _apply(
        self, cursor: sqlite3.Cursor, job: WriteJob, revision: int
    ) -> tuple[Outcome, WatchEvent | None, int]:
        if job.op == "compact":
            self._compact(cursor, job)
            return None, None, revision
        if job.op == "stop":
            return None, None, revision
        row = cursor.execute(sql.LATEST_ROW, (job.key,)).fetchone()
        live = row is not None and not row[2]
        if job.op == "create":
            if live:
                raise KeyExistsError(job.key)
            revision += 1
            cursor.execute(sql.INSERT_ROW, (revision, job.key, 1, 0, revision, 0, job.value))
            kv = KeyValue(job.key, job.value, revision, revision)
            return revision, WatchEvent("PUT", kv, None), revision
        if not live:
            raise KeyNotFoundError(job.key)
        old_revision, create_revision, _, old_value = row
        if job.expected is not None and job.expected != old_revision:
            raise ConflictError(
                f"{job.key}: expected revision {job.expected}, current revision {old_revision}"
            )
        prev = KeyValue(job.key, old_value, create_revision, old_revision)
        revision += 1
        if job.op == "update":
            cursor.execute(
                sql.INSERT_ROW, (revision, job.key, 0, 0, create_revision, old_revision, job.value)
            )
            kv = KeyValue(job.key, job.value, create_revision, revision)
            return revision, WatchEvent("PUT", kv, prev), revision
        # delete: the tombstone keeps the deleted value so replayed DELETE events carry it
        cursor.execute(sql.INSERT_ROW, (revision, job.key, 0, 1, create_revision, old_revision, old_value))
        kv = KeyValue(job.key, old_value, create_revision, revision)
        return (revision, prev), WatchEvent("DELETE", kv, prev), revision

    def _compact(self, cursor: sqlite3.Cursor, job: WriteJob) -> None:
        if job.record:
            cursor.execute(sql.SET_COMPACTED, (job.revision,))
        cursor.execute(sql.COMPACT_RANGE, (job.low, job.high, job.revision))

    def _vacuum(self) -> None:
        """Give the pages compaction freed back to the file system (auto_vacuum=INCREMENTAL).

        Outside the batch transaction, after the futures are handed back: it is an
        optimisation, a failure is only logged. executescript() because the statement
        frees one page per step and execute() would step only once.
        """
        assert self._conn is not None
        try:
            self._conn.executescript("PRAGMA incremental_vacuum;")
        except sqlite3.Error:
            log.exception("incremental vacuum failed")
