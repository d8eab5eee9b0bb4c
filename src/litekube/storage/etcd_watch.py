"""The etcd backend's watch side: one global etcd watch feeding the Broadcaster, and replay.

Feed: `follow_keyspace()` keeps one `POST /v3/watch` open on the whole keyspace, from the
revision after the last published one, with prev_kv, and hands every batch of events to
`publish` (the storage then updates its get() cache, publishes to the Broadcaster and
acknowledges the writes waiting for those revisions). Each write of ours is one etcd
revision holding one event, so the batches are consecutive revisions, which is what the
Broadcaster's ring needs. When the stream breaks (etcd restarted, leader change, an
endpoint died) it reconnects with backoff from the last published revision: no gap, no
duplicate. If etcd compacted past that point meanwhile (another server compacted while we
were cut off) the feed cannot be resumed and `on_lost` is told.

Replay: a watcher older than the ring (a watch from before this server started, or one that
fell more than watch_cache_size events behind) reads history through a short-lived etcd
watch from its position, also on the whole keyspace so that it knows when it has reached
`upto` even if no event under its prefix lies in between; it stops after `chunk` events
(the Broadcaster calls again). A compacted position answers CompactedError, the "too old
resource version" of the other backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from litekube.storage.etcd_client import EtcdClient, Json, key_range, number
from litekube.storage.etcd_events import from_etcd, to_etcd, watch_event
from litekube.storage.types import CompactedError, StorageError, WatchEvent

log = logging.getLogger(__name__)

REPLAY_TIMEOUT = 30.0  # history is served at once; a stall means etcd is gone


def _create_request(after: int) -> Json:
    """A whole-keyspace watch for events with (our) revision > after."""
    return {**key_range(""), "start_revision": to_etcd(after) + 1, "prev_kv": True}


def _compacted_of(result: Json) -> int | None:
    """Our compacted revision if etcd cancelled the watch because its start is compacted."""
    if "compact_revision" in result and number(result, "compact_revision") > 0:
        # etcd keeps revision C readable after compact(C); ours is one less (etcd_events).
        return from_etcd(number(result, "compact_revision"))
    return None


async def follow_keyspace(
    client: EtcdClient,
    last_revision: Callable[[], int],
    publish: Callable[[list[WatchEvent]], None],
    on_lost: Callable[[StorageError], None],
    *,
    max_backoff: float = 2.0,
) -> None:
    """Run until cancelled: the global watch, reconnecting after failures."""
    backoff = 0.05
    while True:
        try:
            async with contextlib.aclosing(client.watch(_create_request(last_revision()))) as stream:
                async for result in stream:
                    compacted = _compacted_of(result)
                    if compacted is not None:
                        on_lost(CompactedError(last_revision(), compacted))
                        return
                    if result.get("canceled"):
                        raise StorageError(f"etcd cancelled the watch: {result.get('cancel_reason', '')}")
                    events = result.get("events")
                    if events:
                        publish([watch_event(event) for event in events])
                    backoff = 0.05
        except StorageError as error:
            log.warning("etcd watch interrupted (%s); reconnecting in %.2fs", error, backoff)
        except Exception:  # a bug or a malformed answer: keep the feed alive, writes wait on it
            log.exception("etcd watch failed; reconnecting in %.2fs", backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)


async def replay(
    client: EtcdClient, prefix: str, after: int, upto: int, chunk: int
) -> tuple[list[WatchEvent], int]:
    """Events under prefix with after < revision <= upto (at most `chunk` scanned) and the
    revision read up to; CompactedError if `after` is compacted in etcd."""
    events: list[WatchEvent] = []
    position = after
    scanned = 0
    async with (
        asyncio.timeout(REPLAY_TIMEOUT),
        contextlib.aclosing(client.watch(_create_request(after))) as stream,
    ):
        async for result in stream:
            compacted = _compacted_of(result)
            if compacted is not None:
                raise CompactedError(after, compacted)
            if result.get("canceled"):
                raise StorageError(f"etcd cancelled the watch: {result.get('cancel_reason', '')}")
            for raw in result.get("events", ()):
                event = watch_event(raw)
                if event.kv.mod_revision > upto:
                    return events, position
                position = event.kv.mod_revision
                if event.kv.key.startswith(prefix):
                    events.append(event)
                scanned += 1
            if position >= upto or scanned >= chunk:
                return events, position
    raise StorageError("etcd closed the watch stream during replay")
