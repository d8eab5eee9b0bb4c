"""Background compaction shared by the log-keeping backends (SQLite, etcd).

Every `interval` seconds, history older than the newest `retain` revisions is compacted,
unless the storage is already compacted that far. A failed round is logged and the next
one tries again.
"""

from __future__ import annotations

import asyncio
import logging

from litekube.storage.broadcast import Broadcaster
from litekube.storage.types import Storage, StorageError

log = logging.getLogger(__name__)


async def compact_periodically(
    storage: Storage, broadcaster: Broadcaster, interval: float, retain: int
) -> None:
    while True:
        await asyncio.sleep(interval)
        target = broadcaster.last_revision - retain
        if target <= await storage.compacted_revision():
            continue
        try:
            await storage.compact(target)
        except StorageError:
            log.exception("background compaction to revision %d failed", target)
