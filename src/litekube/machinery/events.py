"""Recording core/v1 Events about objects, as upstream's legacy event recorder does.

`await recorder.event(obj, "Normal", "ScalingReplicaSet", "Scaled up replica set web-x from 0 to 3")`
creates an Event named `<object name>.<hex nanoseconds>` in the object's namespace
("default" for cluster-scoped objects) with involvedObject (kind, namespace, name, uid,
apiVersion, resourceVersion), source.component, first/lastTimestamp, count 1 and
reportingComponent/reportingInstance — the fields `kubectl describe` and `get events` read.

Repeats aggregate like upstream's EventCorrelator: the same (object uid, type, reason,
message) seen again PATCHes the existing Event, incrementing `count` and moving
`lastTimestamp`, instead of creating a new one. Recording never raises: an event is
best-effort, a failure is logged.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from litekube.api.resources import lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.machinery.clock import Clock, rfc3339

log = logging.getLogger(__name__)

_EVENTS = lookup("", "v1", "events")
assert _EVENTS is not None
EVENTS = _EVENTS
NORMAL = "Normal"
WARNING = "Warning"
_CACHE_SIZE = 4096  # upstream's maxLruCacheEntries


class EventRecorder:
    def __init__(self, client: Client, component: str, clock: Clock, host: str = "") -> None:
        self.client = client
        self.component = component
        self.clock = clock
        self.host = host
        # (uid, type, reason, message) -> (namespace, event name, count)
        self._seen: OrderedDict[tuple[str, str, str, str], tuple[str, str, int]] = OrderedDict()
        self._last_nanos = 0

    async def event(self, obj: JSON, type_: str, reason: str, message: str) -> JSON | None:
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        now = self.clock.now()
        stamp = rfc3339(now)
        cache_key = (str(meta.get("uid", "")), type_, reason, message)
        previous = self._seen.get(cache_key)
        try:
            if previous is not None:
                ev_namespace, ev_name, count = previous
                patch = {"count": count + 1, "lastTimestamp": stamp, "message": message}
                result = await self.client.patch(EVENTS, ev_name, patch, ev_namespace)
                self._remember(cache_key, (ev_namespace, ev_name, count + 1))
                return result
            body = self._new_event(
                obj, namespace, type_, reason, message, stamp, self._unique_nanos(now.timestamp())
            )
            try:
                result = await self.client.create(EVENTS, body, namespace)
            except ApiError as e:
                if not e.conflict:
                    raise
                # two events in the same nanosecond (a fake clock): take the next name
                nanos = self._unique_nanos(now.timestamp())
                body["metadata"]["name"] = f"{meta.get('name', '')}.{nanos:x}"
                result = await self.client.create(EVENTS, body, namespace)
            self._remember(cache_key, (namespace, body["metadata"]["name"], 1))
            return result
        except ApiError as e:
            if previous is not None and e.not_found:
                # the aggregated event expired or was deleted: start a new one
                self._seen.pop(cache_key, None)
                return await self.event(obj, type_, reason, message)
            log.warning("could not record event %s %s on %s: %s", type_, reason, meta.get("name"), e)
            return None

    def _remember(self, key: tuple[str, str, str, str], value: tuple[str, str, int]) -> None:
        self._seen[key] = value
        self._seen.move_to_end(key)
        while len(self._seen) > _CACHE_SIZE:
            self._seen.popitem(last=False)

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
