"""Recording core/v1 Events about objects, as upstream's event recorder and broadcaster do.

`await recorder.event(obj, "Normal", "ScalingReplicaSet", "Scaled up replica set web-x from 0 to 3")`
builds an Event named `<object name>.<hex nanoseconds>` in the object's namespace
("default" for cluster-scoped objects) with involvedObject (kind, namespace, name, uid,
apiVersion, resourceVersion), source.component, first/lastTimestamp, count 1 and
reportingComponent/reportingInstance — the fields `kubectl describe` and `get events` read.

It then goes through the `EventCorrelator` (event_correlator.py): repeats of one message
PATCH the existing Event (count + 1, lastTimestamp), ten distinct messages of one reason
fold into a "(combined from similar events)" Event, and more than 25 events in a burst about
one object are dropped. Recording never raises: an event is best-effort, a failure is logged.

Two ways to write:
- inline (the default, and what a test that drives a controller step by step sees): the
  `event()` call performs the write and returns the Event written;
- in the background, after `start()` (a running controller's recorder): `event()` only
  correlates and queues, like upstream's EventBroadcaster, so a controller never waits on
  an Event write. Writers drain the queue, one per shard of Event names, so a create and the
  patches that follow it keep their order; past 1000 queued events new ones are dropped
  (upstream's maxQueuedEvents). `stop()` writes what is queued, then ends the writers.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging

from litekube.api.resources import lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.machinery.clock import Clock, rfc3339
from litekube.machinery.event_correlator import Correlated, EventCorrelator

log = logging.getLogger(__name__)

_EVENTS = lookup("", "v1", "events")
assert _EVENTS is not None
EVENTS = _EVENTS
NORMAL = "Normal"
WARNING = "Warning"
MAX_QUEUED_EVENTS = 1000
WRITER_SHARDS = 4
DROP_LOG_EVERY = 1000  # log one line per this many dropped events


class EventRecorder:
    def __init__(self, client: Client, component: str, clock: Clock, host: str = "") -> None:
        self.client = client
        self.component = component
        self.clock = clock
        self.host = host
        self.correlator = EventCorrelator(clock)
        self._last_nanos = 0
        self._shards: list[collections.deque[Correlated]] = []
        self._wakeups: list[asyncio.Event] = []
        self._writers: list[asyncio.Task[None]] = []
        self._queued = 0
        self.dropped = 0
        self._dropped_logged = 0

    async def event(self, obj: JSON, type_: str, reason: str, message: str) -> JSON | None:
        """Record one event: the Event written (inline), or None (queued, filtered or failed)."""
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        now = self.clock.now()
        nanos = self._unique_nanos(now.timestamp())
        body = self._new_event(obj, namespace, type_, reason, message, rfc3339(now), nanos)
        correlated = self.correlator.correlate(body, now, self._unique_nanos(now.timestamp()))
        if correlated is None:
            return None
        if not self._writers:
            return await self._write(correlated)
        if self._queued >= MAX_QUEUED_EVENTS:
            self.dropped += 1
            # one line per burst, not per event: at 10,000 pods a line each costs real time
            if self.dropped - self._dropped_logged >= DROP_LOG_EVERY or not self._dropped_logged:
                log.warning(
                    "dropping events: too many queued (%d dropped so far; latest %s %s on %s)",
                    self.dropped,
                    type_,
                    reason,
                    meta.get("name"),
                )
                self._dropped_logged = self.dropped
            return None
        shard = hash(correlated.event["metadata"]["name"]) % len(self._shards)
        self._shards[shard].append(correlated)
        self._queued += 1
        self._wakeups[shard].set()
        return None

    def start(self) -> None:
        """From now on write in the background (needs a running event loop)."""
        if self._writers:
            return
        loop = asyncio.get_running_loop()
        self._shards = [collections.deque() for _ in range(WRITER_SHARDS)]
        self._wakeups = [asyncio.Event() for _ in range(WRITER_SHARDS)]
        self._writers = [
            loop.create_task(self._writer(i), name=f"events-{self.component}-{i}")
            for i in range(WRITER_SHARDS)
        ]

    async def stop(self) -> None:
        """Write what is queued, then stop the background writers (back to inline writes)."""
        writers, self._writers = self._writers, []
        for shard in self._shards:
            while shard:
                with contextlib.suppress(Exception):
                    await self._write(shard.popleft())
        for task in writers:
            task.cancel()
        for task in writers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queued = 0

    async def _writer(self, index: int) -> None:
        shard, wakeup = self._shards[index], self._wakeups[index]
        while True:
            while not shard:
                wakeup.clear()
                await wakeup.wait()
            correlated = shard.popleft()
            self._queued -= 1
            await self._write(correlated)

    async def _write(self, correlated: Correlated) -> JSON | None:
        event = correlated.event
        meta = event["metadata"]
        try:
            if correlated.patch is not None:
                try:
                    return await self.client.patch(EVENTS, meta["name"], correlated.patch, meta["namespace"])
                except ApiError as e:
                    if not e.not_found:
                        raise
                    # the Event expired or was deleted: write it anew under the same name
            body = {**event, "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
            try:
                return await self.client.create(EVENTS, body, meta["namespace"])
            except ApiError as e:
                if not e.conflict:
                    raise
                # two events in the same nanosecond (a fake clock): take the next name
                involved = (event.get("involvedObject") or {}).get("name", "")
                body["metadata"]["name"] = f"{involved}.{self._unique_nanos(0.0):x}"
                self.correlator.renamed(correlated.key, body["metadata"]["name"])
                return await self.client.create(EVENTS, body, meta["namespace"])
        except ApiError as e:
            self.correlator.forget(correlated.key)
            log.warning("could not record event %s %s: %s", event.get("type"), event.get("reason"), e)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # best-effort: a broken connection must not kill a writer
            self.correlator.forget(correlated.key)
            log.warning("could not record event %s %s: %s", event.get("type"), event.get("reason"), e)
        return None

    def _unique_nanos(self, epoch: float) -> int:
        nanos = max(int(epoch * 1e9), self._last_nanos + 1)
        self._last_nanos = nanos
        return nanos

    def _new_event(
        self, obj: JSON, namespace: str, type_: str, reason: str, message: str, stamp: str, nanos: int
    ) -> JSON:
        meta = obj.get("metadata") or {}
        involved: JSON = {
            "kind": obj.get("kind", ""),
            "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": obj.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if not involved["namespace"]:
            del involved["namespace"]
        source: JSON = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name', '')}.{nanos:x}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
