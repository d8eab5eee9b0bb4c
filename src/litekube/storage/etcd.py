"""EtcdStorage: the Storage protocol on an etcd v3 cluster (the distributed backend).

etcd already is a revisioned key/value log, so each verb is one etcd request (through the
JSON gateway, `etcd_client.py`); revisions are etcd's, shifted by one (`etcd_events.py`):

    create  txn: if create_revision(key) == 0 then put          else → KeyExistsError
    update  txn: if mod_revision(key) == expected (or, with no expected revision,
                 create_revision(key) > 0) then put              else range(key) → 404 or 409
    delete  the same compare, then delete with prev_kv           else range(key) → 404 or 409
    list    range over the prefix at the revision, 10,000 keys per request
    compact compaction(revision) (physical), after raising our own compacted bar

Flow of a write: the txn commits in etcd (durable: etcd fsyncs its WAL before answering),
then the caller waits until the global watch feed (`etcd_watch.py`) has published the
write's revision, and only then returns. So, as with SQLite, once a write is acknowledged
it is in every watcher's stream, in the get() cache and in list() at revision 0, and a
revision a caller has seen is never "in the future" for list().

Flow of a read: get() serves keys from `_latest` (the current value of every key written
since start, kept from the feed, so exactly the published revision's state) and otherwise
reads etcd at the published revision; list() reads at the published revision (or the one
asked for). watch() is the Broadcaster fed by the global watch, with `etcd_watch.replay`
for positions older than its ring.

Compaction: etcd answers "required revision has been compacted" for reads below its
compaction point; we keep our own `_compacted` (found at start by bisecting over revisions,
raised by compact() and by any compacted answer) so list()/watch() fail with the same
CompactedError as the other backends, which the apiserver turns into 410 Gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import AsyncGenerator, Sequence

from litekube.storage.broadcast import Broadcaster
from litekube.storage.compaction import compact_periodically
from litekube.storage.etcd_client import EtcdClient, EtcdCompacted, Json, encode, encode_bytes, key_range
from litekube.storage.etcd_events import from_etcd, header_revision, key_value, to_etcd
from litekube.storage.etcd_watch import follow_keyspace, replay
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

log = logging.getLogger(__name__)
# An alias, because inside the class `list` names the list() method, not the builtin.
KeyValues = list[KeyValue]
Events = list[WatchEvent]


class EtcdStorage:
    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        compact_interval: float = 300.0,
        compact_retain: int = 1000,
        watch_cache_size: int = 10_000,
        replay_chunk: int = 1000,
        list_page: int = 10_000,
        feed_stall: float = 5.0,
    ) -> None:
        self.endpoints = list(endpoints)
        self._client = EtcdClient(endpoints)
        self._compact_interval = compact_interval
        self._compact_retain = compact_retain
        self._watch_cache_size = watch_cache_size
        self._replay_chunk = replay_chunk
        self._list_page = list_page
        self._compacted = 0
        self._started = False
        self._closed = False
        self._lost: StorageError | None = None  # set when the feed cannot resume
        self._latest: dict[str, KeyValue] = {}
        # Writes committed in etcd, waiting for the feed to publish their revision.
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._compact_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._feed: asyncio.Task[None] | None = None
        self._feed_stall = feed_stall
        self._broadcaster: Broadcaster

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        await self._client.open()
        try:
            current = header_revision(await self._client.call("/v3/kv/range", {"key": encode("\0")}))
            self._compacted = await self._find_compacted(current)
        except BaseException:
            await self._client.close()
            raise
        self._broadcaster = Broadcaster(
            current, capacity=self._watch_cache_size, replay=self._replay, compacted=lambda: self._compacted
        )
        self._started = True
        self._start_feed()
        if self._compact_interval > 0:
            self._tasks.append(
                asyncio.create_task(
                    compact_periodically(
                        self, self._broadcaster, self._compact_interval, self._compact_retain
                    ),
                    name="storage-compactor",
                )
            )

    async def _find_compacted(self, current: int) -> int:
        """Our compacted revision: the lowest (of ours) that etcd still reads.

        etcd has no call that names its compaction point, so bisect over reads of one key
        at a revision (about log2(current) tiny requests, only when it has compacted at all).
        """
        low, high = 0, current  # revision `high` is readable; find the lowest readable one
        if await self._readable(low):
            return 0
        while high - low > 1:
            middle = (low + high) // 2
            if await self._readable(middle):
                high = middle
            else:
                low = middle
        return high

    async def _readable(self, revision: int) -> bool:
        try:
            await self._client.call("/v3/kv/range", {"key": encode("\0"), "revision": to_etcd(revision)})
        except EtcdCompacted:
            return False
        return True

    async def close(self) -> None:
        if not self._started or self._closed:
            return
        self._closed = True
        self._broadcaster.close()
        tasks = [*self._tasks, *([self._feed] if self._feed else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Writes still waiting for the feed are committed in etcd: they stand.
        for _, _, future in self._waiting:
            if not future.done():
                future.set_result(None)
        self._waiting.clear()
        await self._client.close()

    def _check_open(self) -> None:
        if self._closed or not self._started:
            raise StorageError("storage is not open")
        if self._lost is not None:
            raise self._lost

    # -- the feed ------------------------------------------------------------------------

    def _start_feed(self) -> None:
        if self._feed is not None:
            self._feed.cancel()  # it ends at its next await; nothing it holds is shared
        feed = follow_keyspace(
            self._client, lambda: self._broadcaster.last_revision, self._publish, self._lose
        )
        self._feed = asyncio.create_task(feed, name="storage-etcd-watch")

    def _publish(self, events: Events) -> None:
        last = self._broadcaster.last_revision
        fresh = [event for event in events if event.kv.mod_revision > last]
        if not fresh:
            return
        if fresh[-1].kv.mod_revision - last != len(fresh):
            # Not one event per revision: a foreign multi-key txn. The ring would misplace
            # events; docs/storage.md says litekube must own the keyspace.
            log.error(
                "etcd events %d..%d do not follow revision %d one by one",
                fresh[0].kv.mod_revision,
                fresh[-1].kv.mod_revision,
                last,
            )
        self._broadcaster.publish(fresh)
        latest = self._latest
        for event in fresh:
            if event.type == "DELETE":
                latest.pop(event.kv.key, None)
            else:
                latest[event.kv.key] = event.kv
        published = self._broadcaster.last_revision
        waiting = self._waiting
        while waiting and waiting[0][0] <= published:
            future = heapq.heappop(waiting)[2]
            if not future.done():  # the caller gave up (cancelled); the write stands regardless
                future.set_result(None)

    def _lose(self, error: StorageError) -> None:
        log.error("etcd watch cannot resume: %s; the storage stops serving", error)
        self._lost = StorageError(f"etcd watch feed lost: {error}")
        self._broadcaster.close()
        for _, _, future in self._waiting:
            if not future.done():
                future.set_exception(self._lost)
        self._waiting.clear()

    async def _published(self, revision: int) -> None:
        if self._broadcaster.last_revision >= revision or self._closed:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (revision, next(self._sequence), future))
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(future), self._feed_stall)
                return
            except TimeoutError:
                # etcd committed the write but the feed has not seen it: its stream may sit
                # on a member cut off from the others (writes went elsewhere). Reconnect it;
                # the new stream starts after the last published revision, so nothing is lost.
                if self._broadcaster.last_revision < revision and not self._closed and self._lost is None:
                    log.warning("etcd watch stalled below revision %d; reconnecting it", revision)
                    self._start_feed()

    # -- reads -------------------------------------------------------------------------

    async def current_revision(self) -> int:
        return self._broadcaster.last_revision

    async def compacted_revision(self) -> int:
        return self._compacted

    async def get(self, key: str) -> KeyValue | None:
        self._check_open()
        kv = self._latest.get(key)
        if kv is not None:
            return kv
        revision = self._broadcaster.last_revision
        try:
            response = await self._client.call(
                "/v3/kv/range", {"key": encode(key), "revision": to_etcd(revision)}
            )
        except EtcdCompacted:  # another server compacted past what we published: read now
            response = await self._client.call("/v3/kv/range", {"key": encode(key)})
        kvs = response.get("kvs")
        if not kvs:
            return None
        kv = key_value(kvs[0])
        if self._broadcaster.last_revision == revision:
            # Nothing was published while reading, so this is still the latest value.
            self._latest[key] = kv
        return kv

    async def list(
        self,
        prefix: str,
        revision: int = 0,
        limit: int = 0,
        start_after: str | None = None,
    ) -> ListResult:
        self._check_open()
        current = self._broadcaster.last_revision
        if revision <= 0:
            revision = current
        elif revision > current:
            raise FutureRevisionError(f"revision {revision} is newer than the current revision {current}")
        self._check_compacted(revision)
        request: Json = {**key_range(prefix), "revision": to_etcd(revision)}
        if start_after is not None and start_after >= prefix:
            request["key"] = encode(start_after + "\0")  # the first key after start_after
        items: KeyValues = []
        # Page through etcd even without a limit: etcd and its gateway build a whole answer
        # in memory (protobuf, then JSON), so a huge range would be held there at once.
        while True:
            want = self._list_page if limit <= 0 else min(self._list_page, limit - len(items))
            try:
                response = await self._client.call("/v3/kv/range", {**request, "limit": want})
            except EtcdCompacted as error:
                self._compacted = max(self._compacted, await self._find_compacted(current))
                raise CompactedError(revision, self._compacted) from error
            items.extend(key_value(kv) for kv in response.get("kvs", ()))
            more = bool(response.get("more"))
            if not more or (limit > 0 and len(items) >= limit):
                return ListResult(revision, items, more)
            request["key"] = encode(items[-1].key + "\0")

    def _check_compacted(self, revision: int) -> None:
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)

    # -- watch -------------------------------------------------------------------------

    def watch(self, prefix: str, from_revision: int) -> AsyncGenerator[WatchEvent, None]:
        self._check_open()
        return self._broadcaster.follow(prefix, from_revision)

    async def _replay(self, prefix: str, after: int, upto: int) -> tuple[Events, int]:
        if self._closed:  # the broadcaster is closed too: the watcher ends at its next check
            return [], upto
        self._check_compacted(after)
        try:
            return await replay(self._client, prefix, after, upto, self._replay_chunk)
        except CompactedError as error:
            self._compacted = max(self._compacted, error.compacted)
            raise

    # -- writes ------------------------------------------------------------------------

    async def _txn(self, key: str, compare: Json, success: Json) -> Json:
        self._check_open()
        body = {
            "compare": [{"key": encode(key), **compare}],
            "success": [success],
            "failure": [{"request_range": {"key": encode(key)}}],
        }
        return await self._client.call("/v3/kv/txn", body)

    @staticmethod
    def _precondition(expected_revision: int | None) -> Json:
        if expected_revision is None:  # the key must exist
            return {"target": "CREATE", "result": "GREATER", "create_revision": 0}
        return {"target": "MOD", "result": "EQUAL", "mod_revision": to_etcd(expected_revision)}

    @staticmethod
    def _failure(key: str, response: Json, expected_revision: int | None) -> StorageError:
        found = response["responses"][0]["response_range"].get("kvs")
        if not found:
            return KeyNotFoundError(key)
        current = from_etcd(int(found[0]["mod_revision"]))
        return ConflictError(f"{key}: expected revision {expected_revision}, current revision {current}")

    async def create(self, key: str, value: bytes) -> int:
        response = await self._txn(
            key,
            {"target": "CREATE", "result": "EQUAL", "create_revision": 0},
            {"request_put": {"key": encode(key), "value": encode_bytes(value)}},
        )
        if not response.get("succeeded"):
            raise KeyExistsError(key)
        revision = header_revision(response)
        await self._published(revision)
        return revision

    async def update(self, key: str, value: bytes, expected_revision: int | None) -> int:
        response = await self._txn(
            key,
            self._precondition(expected_revision),
            {"request_put": {"key": encode(key), "value": encode_bytes(value)}},
        )
        if not response.get("succeeded"):
            raise self._failure(key, response, expected_revision)
        revision = header_revision(response)
        await self._published(revision)
        return revision

    async def delete(self, key: str, expected_revision: int | None) -> tuple[int, KeyValue]:
        response = await self._txn(
            key,
            self._precondition(expected_revision),
            {"request_delete_range": {"key": encode(key), "prev_kv": True}},
        )
        if not response.get("succeeded"):
            raise self._failure(key, response, expected_revision)
        revision = header_revision(response)
        prev = key_value(response["responses"][0]["response_delete_range"]["prev_kvs"][0])
        await self._published(revision)
        return revision, prev

    # -- compaction --------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        self._check_open()
        async with self._compact_lock:
            if revision <= self._compacted:
                return
            current = self._broadcaster.last_revision
            if revision > current:
                raise FutureRevisionError(f"cannot compact to {revision}: current revision is {current}")
            # Raise the bar before etcd forgets anything: reads that start now fail cleanly.
            self._compacted = revision
            try:
                await self._client.call(
                    "/v3/kv/compaction", {"revision": to_etcd(revision), "physical": True}
                )
            except EtcdCompacted:  # another server compacted at least this far already
                self._compacted = max(revision, await self._find_compacted(current))
