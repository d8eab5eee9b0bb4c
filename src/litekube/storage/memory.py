"""MemoryStorage: the Storage protocol in plain Python structures, for fast tests.

Same semantics as SQLiteStorage (revisions, preconditions, list at a revision, paging,
watch from the past, compaction, CompactedError), nothing persisted. Every operation runs
on the event loop without awaiting, so each one is atomic by construction.

Layout: `_history[key]` is the key's rows in revision order (the log, grouped by key) and
`_keys` the sorted key list for prefix ranges. The broadcaster keeps every event since the
last compaction (no capacity bound), so a watch from any uncompacted revision is served
from memory; compaction trims both.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncGenerator
from typing import NamedTuple

from litekube.storage.broadcast import Broadcaster
from litekube.storage.types import (
    CompactedError,
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    StorageError,
    WatchEvent,
)


class _Row(NamedTuple):
    revision: int
    create_revision: int
    value: bytes
    deleted: bool


# An alias, because inside the class `list` names the list() method, not the builtin.
Rows = list[_Row]


class MemoryStorage:
    def __init__(self) -> None:
        self._history: dict[str, list[_Row]] = {}
        self._keys: list[str] = []  # sorted; a key stays until compaction drops all its rows
        self._revision = 0
        self._compacted = 0
        self._closed = False
        self._broadcaster = Broadcaster(0, capacity=None, replay=None, compacted=lambda: self._compacted)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._closed = True
        self._broadcaster.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("storage is closed")

    async def current_revision(self) -> int:
        return self._revision

    async def compacted_revision(self) -> int:
        return self._compacted

    def _live(self, key: str) -> _Row | None:
        rows = self._history.get(key)
        if not rows or rows[-1].deleted:
            return None
        return rows[-1]

    async def get(self, key: str) -> KeyValue | None:
        self._check_open()
        row = self._live(key)
        return None if row is None else KeyValue(key, row.value, row.create_revision, row.revision)

    def _append(self, key: str, row: _Row) -> None:
        rows = self._history.get(key)
        if rows is None:
            self._history[key] = [row]
            bisect.insort(self._keys, key)
        else:
            rows.append(row)
        self._revision = row.revision

    async def create(self, key: str, value: bytes) -> int:
        self._check_open()
        if self._live(key) is not None:
            raise KeyExistsError(key)
        revision = self._revision + 1
        self._append(key, _Row(revision, revision, value, False))
        self._broadcaster.publish([WatchEvent("PUT", KeyValue(key, value, revision, revision), None)])
        return revision

    def _precondition(self, key: str, expected_revision: int | None) -> KeyValue:
        row = self._live(key)
        if row is None:
            raise KeyNotFoundError(key)
        if expected_revision is not None and expected_revision != row.revision:
            raise ConflictError(
                f"{key}: expected revision {expected_revision}, current revision {row.revision}"
            )
        return KeyValue(key, row.value, row.create_revision, row.revision)

    async def update(self, key: str, value: bytes, expected_revision: int | None) -> int:
        self._check_open()
        prev = self._precondition(key, expected_revision)
        revision = self._revision + 1
        self._append(key, _Row(revision, prev.create_revision, value, False))
        kv = KeyValue(key, value, prev.create_revision, revision)
        self._broadcaster.publish([WatchEvent("PUT", kv, prev)])
        return revision

    async def delete(self, key: str, expected_revision: int | None) -> tuple[int, KeyValue]:
        self._check_open()
        prev = self._precondition(key, expected_revision)
        revision = self._revision + 1
        self._append(key, _Row(revision, prev.create_revision, prev.value, True))
        kv = KeyValue(key, prev.value, prev.create_revision, revision)
        self._broadcaster.publish([WatchEvent("DELETE", kv, prev)])
        return revision, prev

    async def list(
        self,
        prefix: str,
        revision: int = 0,
        limit: int = 0,
        start_after: str | None = None,
    ) -> ListResult:
        self._check_open()
        if revision <= 0:
            revision = self._revision
        elif revision > self._revision:
            raise FutureRevisionError(
                f"revision {revision} is newer than the current revision {self._revision}"
            )
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)
        if start_after is not None and start_after >= prefix:
            index = bisect.bisect_right(self._keys, start_after)
        else:
            index = bisect.bisect_left(self._keys, prefix)
        items: list[KeyValue] = []
        more = False
        for key in self._keys[index:]:
            if not key.startswith(prefix):
                break
            row = self._row_at(self._history[key], revision)
            if row is None or row.deleted:
                continue
            if 0 < limit <= len(items):
                more = True
                break
            items.append(KeyValue(key, row.value, row.create_revision, row.revision))
        return ListResult(revision, items, more)

    @staticmethod
    def _row_at(rows: Rows, revision: int) -> _Row | None:
        index = bisect.bisect_right(rows, revision, key=lambda row: row.revision)
        return rows[index - 1] if index else None

    def watch(self, prefix: str, from_revision: int) -> AsyncGenerator[WatchEvent, None]:
        self._check_open()
        return self._broadcaster.follow(prefix, from_revision)

    async def compact(self, revision: int) -> None:
        self._check_open()
        if revision <= self._compacted:
            return
        if revision > self._revision:
            raise FutureRevisionError(f"cannot compact to {revision}: current revision is {self._revision}")
        self._compacted = revision
        for key in self._keys:
            rows = self._history[key]
            index = bisect.bisect_right(rows, revision, key=lambda row: row.revision)
            # Keep the latest row at or below `revision` unless it is a tombstone.
            keep_from = index - 1 if index and not rows[index - 1].deleted else index
            if keep_from > 0:
                del rows[:keep_from]
            if not rows:
                del self._history[key]
        self._keys = [key for key in self._keys if key in self._history]
        self._broadcaster.forget_through(revision)
