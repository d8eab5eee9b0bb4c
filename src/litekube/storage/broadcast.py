"""In-memory fan-out of committed events to any number of watchers.

Flow: a backend commits writes, then, on the event loop, calls `publish(events)` with the
events of the next consecutive revisions. They land in a ring: a list plus the revision of
its first element, so the event of revision r sits at index r - first. A watcher is an
async generator (`follow`) that holds nothing but its position (the last revision it has
passed); it slices what is new from the ring, filters by key prefix and yields. When it has
caught up it waits on an asyncio.Event that publish() swaps for a fresh one, so a commit
batch costs one wake-up per watcher, not one per event. There is no task per watcher: a
consumer that stops iterating (and closes the generator) leaves nothing running.

A watcher whose position is older than the ring (a watch from the past, or a consumer so
slow that the ring has moved past it) pulls from `replay`, a backend callback that reads
the log, until it reaches the ring. Positions are revisions, so switching from replay to
the ring has no gap and no duplicate. Without a replay callback (the memory backend keeps
every event since the last compaction) a position older than the ring means compacted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence

from litekube.storage.types import CompactedError, WatchEvent

# replay(prefix, after, upto) -> (events under prefix with after < revision <= upto, in
# revision order; the revision read up to, > after). It may return a partial range (a
# chunk); follow() calls it again. It raises CompactedError when `after` is compacted.
Replay = Callable[[str, int, int], Awaitable[tuple[list[WatchEvent], int]]]


class Broadcaster:
    def __init__(
        self,
        last_revision: int,
        *,
        capacity: int | None,
        replay: Replay | None,
        compacted: Callable[[], int],
    ) -> None:
        self._events: list[WatchEvent] = []
        self._first = last_revision + 1  # revision of _events[0], or the next revision if empty
        self._capacity = capacity
        self._replay = replay
        self._compacted = compacted
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def last_revision(self) -> int:
        return self._first + len(self._events) - 1

    def publish(self, events: Sequence[WatchEvent]) -> None:
        """Append events of revisions last_revision+1, +2, ... and wake every watcher."""
        if not events:
            return
        self._events.extend(events)
        # Trim in bulk when the ring holds twice its capacity: amortised O(1) per event
        # instead of a deque (whose indexing by position is O(n)).
        if self._capacity is not None and len(self._events) > 2 * self._capacity:
            drop = len(self._events) - self._capacity
            del self._events[:drop]
            self._first += drop
        self._wake()

    def forget_through(self, revision: int) -> None:
        """Drop events with revision <= `revision` (the memory backend's compaction)."""
        drop = min(max(0, revision + 1 - self._first), len(self._events))
        if drop:
            del self._events[:drop]
            self._first += drop

    def close(self) -> None:
        """End every watcher once it has yielded what it already took."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self, prefix: str, from_revision: int) -> AsyncGenerator[WatchEvent, None]:
        """Events under prefix with revision > from_revision, in order, then live."""
        compacted = self._compacted()
        if from_revision < compacted:
            raise CompactedError(from_revision, compacted)
        position = from_revision
        while not self._closed:
            if position + 1 < self._first:
                if self._replay is None:
                    raise CompactedError(position, self._compacted())
                events, position = await self._replay(prefix, position, self._first - 1)
                for event in events:
                    yield event
                continue
            batch = self._events[position + 1 - self._first :]
            if not batch:
                # Waiting on the Event (a private future per waiter) rather than a shared
                # future: cancelling one consumer must not cancel the others' wait.
                await self._changed.wait()
                continue
            position = batch[-1].kv.mod_revision
            for event in batch:
                if event.kv.key.startswith(prefix):
                    yield event
