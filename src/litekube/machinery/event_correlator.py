"""Event correlation, as upstream's EventCorrelator: aggregate similar events, filter spam.

`EventCorrelator.correlate(event)` runs three steps on a freshly built core/v1 Event and
returns what to write — a new Event to create, an existing one to patch, or nothing:

1. aggregate: events alike in everything but the message (source, involved object, type,
   reason, reporting component/instance) are counted per distinct message; from the 10th
   distinct message within 10 minutes on, the event is replaced by one "(combined from
   similar events): <message>" Event for the whole group. Example: a ReplicaSet creating
   100 pods records "Created pod: web-1" … "Created pod: web-9" as 9 Events; the 10th and
   every later one patch a single combined Event;
2. observe: an event already written (same key, i.e. same message, or the same combined
   group) becomes a patch of that Event: count + 1, new lastTimestamp and message;
3. spam filter: a token bucket per source + involved object (burst 25, refilled by one
   token every 5 minutes); an event finding the bucket empty is dropped. So one object
   gets at most 25 Event writes in a burst however busy its controller is.

The numbers are upstream's (client-go tools/record: defaultAggregateMaxEvents,
defaultAggregateIntervalInSeconds, defaultSpamBurst, defaultSpamQPS). Each cache is an
LRU bounded at 4096 entries (maxLruCacheEntries), so memory stays flat.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from litekube.client.base import JSON
from litekube.machinery.clock import Clock, rfc3339

CACHE_SIZE = 4096
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
COMBINED_PREFIX = "(combined from similar events): "

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)


@dataclass
class _Aggregate:
    messages: set[str] = field(default_factory=set)
    last: float = 0.0


@dataclass
class _Written:
    namespace: str
    name: str
    count: int
    first_timestamp: str


@dataclass
class _Bucket:
    tokens: float
    last: float


@dataclass
class Correlated:
    """What to write: `event` (complete); `patch` set when it updates an existing Event."""

    event: JSON
    key: tuple[str, ...]
    patch: JSON | None = None


def _object_key(event: JSON) -> tuple[str, ...]:
    source = event.get("source") or {}
    involved = event.get("involvedObject") or {}
    return (
        str(source.get("component", "")),
        str(source.get("host", "")),
        str(involved.get("kind", "")),
        str(involved.get("namespace", "")),
        str(involved.get("name", "")),
        str(involved.get("uid", "")),
        str(involved.get("apiVersion", "")),
    )


class EventCorrelator:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._aggregates: LRU[tuple[str, ...], _Aggregate] = LRU()
        self._written: LRU[tuple[str, ...], _Written] = LRU()
        self._spam: LRU[tuple[str, ...], _Bucket] = LRU()

    def correlate(self, event: JSON, now: datetime, unique_nanos: int) -> Correlated | None:
        """The write for `event` (built with count 1 and timestamps `now`), or None if spam."""
        obj_key = _object_key(event)
        group = (
            *obj_key,
            str(event.get("type", "")),
            str(event.get("reason", "")),
            str(event.get("reportingComponent", "")),
            str(event.get("reportingInstance", "")),
        )
        message = str(event.get("message", ""))
        key: tuple[str, ...] = (*group, message)
        monotonic = self.clock.monotonic()
        aggregate = self._aggregates.get(group)
        if aggregate is None or monotonic - aggregate.last > AGGREGATE_INTERVAL:
            aggregate = _Aggregate()
        aggregate.messages.add(message)
        aggregate.last = monotonic
        self._aggregates.put(group, aggregate)
        if len(aggregate.messages) >= AGGREGATE_MAX_EVENTS:
            aggregate.messages.pop()  # stays bounded, still at the threshold next time
            involved_name = (event.get("involvedObject") or {}).get("name", "")
            event = {
                **event,
                "metadata": {**event["metadata"], "name": f"{involved_name}.{unique_nanos:x}"},
                "message": COMBINED_PREFIX + message,
            }
            key = group
        stamp = rfc3339(now)
        written = self._written.get(key)
        patch: JSON | None = None
        if written is not None:
            event = {
                **event,
                "metadata": {**event["metadata"], "name": written.name, "namespace": written.namespace},
                "count": written.count + 1,
                "firstTimestamp": written.first_timestamp,
            }
            patch = {"count": event["count"], "lastTimestamp": stamp, "message": event["message"]}
        meta = event["metadata"]
        self._written.put(
            key, _Written(meta["namespace"], meta["name"], int(event["count"]), str(event["firstTimestamp"]))
        )
        if self._is_spam(obj_key, monotonic):
            return None
        return Correlated(event, key, patch)

    def forget(self, key: tuple[str, ...]) -> None:
        """The Event written under `key` is gone (deleted or expired): the next one starts anew."""
        self._written.pop(key)

    def renamed(self, key: tuple[str, ...], name: str) -> None:
        """The Event for `key` was created under another name (its first name was taken)."""
        written = self._written.get(key)
        if written is not None:
            written.name = name

    def _is_spam(self, obj_key: tuple[str, ...], now: float) -> bool:
        bucket = self._spam.get(obj_key)
        if bucket is None:
            bucket = _Bucket(float(SPAM_BURST), now)
        bucket.tokens = min(float(SPAM_BURST), bucket.tokens + (now - bucket.last) * SPAM_QPS)
        bucket.last = now
        self._spam.put(obj_key, bucket)
        if bucket.tokens < 1.0:
            return True
        bucket.tokens -= 1.0
        return False
