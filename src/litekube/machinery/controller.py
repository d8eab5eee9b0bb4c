"""The shape every controller shares.

    informer handlers ──enqueue(key)──► WorkQueue ──get()──► worker ──► sync(key)
                                            ▲                                │
                                            └── add_rate_limited / add_after ┘ (on error)

A subclass registers its informer handlers in its constructor (handlers only turn events
into keys), and implements `async sync(key)`, which reads the desired and the actual state
from the caches and converges them. `sync` is level-driven: it never looks at the event that
woke it, and a missing object means "deleted".

Errors travel to one place, `process(key)`:
- success → `forget(key)` resets the key's backoff;
- `RequeueAfter(seconds)` → the key comes back after that delay, without counting a failure;
- a 409 Conflict (we wrote from a stale cache) → requeued with backoff, quietly, never dropped;
- any other exception → logged, then requeued with per-key exponential backoff, unless it
  already failed `max_retries` times (None = retry forever), in which case it is dropped.

A controller with a `recorder` writes its Events in the background while its workers run
(`start()` starts the recorder's writers, `stop()` flushes them), so no sync waits on an
Event; driven key by key with `process_next` (tests), it writes them inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

from litekube.client.base import JSON, ApiError
from litekube.machinery.clock import Clock
from litekube.machinery.events import EventRecorder
from litekube.machinery.informer import object_key
from litekube.machinery.queue import RateLimiter, WorkQueue

log = logging.getLogger(__name__)


class RequeueAfter(Exception):
    """Raised by `sync` to look at the key again after `seconds` (not an error)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"requeue after {seconds}s")
        self.seconds = seconds


class Controller(ABC):
    name: str = "controller"
    max_retries: int | None = None

    def __init__(self, clock: Clock, workers: int = 1, rate_limiter: RateLimiter | None = None) -> None:
        self.clock = clock
        self.workers = workers
        self.queue = WorkQueue(clock, rate_limiter, name=self.name)
        self._tasks: list[asyncio.Task[None]] = []
        self.sync_count = 0

    @abstractmethod
    async def sync(self, key: str) -> None:
        """Converge the object named by `key` ("namespace/name", or a controller-specific key)."""

    def enqueue(self, obj: JSON) -> None:
        self.queue.add(object_key(obj))

    def enqueue_after(self, obj: JSON, seconds: float) -> None:
        self.queue.add_after(object_key(obj), seconds)

    def enqueue_rate_limited(self, obj: JSON) -> None:
        self.queue.add_rate_limited(object_key(obj))

    async def process(self, key: str) -> None:
        """Run one sync and decide what happens to the key; the single place errors land."""
        try:
            self.sync_count += 1
            await self.sync(key)
        except RequeueAfter as r:
            self.queue.forget(key)
            self.queue.add_after(key, r.seconds)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if isinstance(e, ApiError) and e.conflict:
                # A write based on a cache that lagged behind: routine under load, and the
                # next sync reads fresher state, so it never counts towards dropping the key.
                log.debug("%s: conflict syncing %s, retrying", self.name, key)
                self.queue.add_rate_limited(key)
                return
            if self.max_retries is not None and self.queue.num_requeues(key) >= self.max_retries:
                log.warning("%s: dropping %s out of the queue: %s", self.name, key, e)
                self.queue.forget(key)
                return
            log.warning("%s: error syncing %s: %s", self.name, key, e, exc_info=not isinstance(e, ApiError))
            self.queue.add_rate_limited(key)
        else:
            self.queue.forget(key)

    async def process_next(self) -> bool:
        """Process one queued key if any (for tests); False when the queue is empty."""
        key = self.queue.get_nowait()
        if key is None:
            return False
        try:
            await self.process(key)
        finally:
            self.queue.done(key)
        return True

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        recorder = self._recorder()
        if recorder is not None:
            recorder.start()
        for i in range(self.workers):
            self._tasks.append(loop.create_task(self._worker(), name=f"{self.name}-worker-{i}"))

    async def stop(self) -> None:
        self.queue.shutdown()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        recorder = self._recorder()
        if recorder is not None:
            await recorder.stop()

    def _recorder(self) -> EventRecorder | None:
        # subclasses keep theirs as `self.recorder` (typed there as a plain EventRecorder)
        recorder = getattr(self, "recorder", None)
        return recorder if isinstance(recorder, EventRecorder) else None
