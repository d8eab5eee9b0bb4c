"""The event table, for core/v1 and events.k8s.io/v1 events alike.

Upstream prints both API versions through one internal type, so a single column set
serves both; this module reads either JSON shape (`involvedObject`/`regarding`,
`message`/`note`, `source`/`deprecatedSource`, `count`/`deprecatedCount`, ...).
LAST SEEN is lastTimestamp, else FIRST SEEN (firstTimestamp, else eventTime); an event
series overrides it with `series.lastObservedTime` and its count. OBJECT is
`kind/name` with the kind lower-cased.
"""

from __future__ import annotations

from typing import Any

from litekube.api.printers.columns import CORE, Column, name_column
from litekube.api.printers.duration import translate_timestamp_since

_EVENT = CORE + "Event"
COLUMNS = (
    Column("Last Seen", doc=(_EVENT, "lastTimestamp")),
    Column("Type", doc=(_EVENT, "type")),
    Column("Reason", doc=(_EVENT, "reason")),
    Column("Object", doc=(_EVENT, "involvedObject")),
    Column("Subobject", priority=1, doc=(CORE + "ObjectReference", "fieldPath")),
    Column("Source", priority=1, doc=(_EVENT, "source")),
    Column("Message", doc=(_EVENT, "message")),
    Column("First Seen", priority=1, doc=(_EVENT, "firstTimestamp")),
    Column("Count", priority=1, doc=(_EVENT, "count")),
    name_column(priority=1),
)


def _first(obj: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = obj.get(key)
        if value:
            return value
    return None


def cells(obj: dict[str, Any], now: float) -> list[Any]:
    first_ts = _first(obj, "firstTimestamp", "deprecatedFirstTimestamp")
    first_seen = translate_timestamp_since(first_ts or obj.get("eventTime"), now)
    last_ts = _first(obj, "lastTimestamp", "deprecatedLastTimestamp")
    last_seen = translate_timestamp_since(last_ts, now) if last_ts else first_seen
    count = int(_first(obj, "count", "deprecatedCount") or 0)
    series = obj.get("series")
    if series is not None:
        last_seen = translate_timestamp_since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1  # singleton events carry no count in the new API
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = obj.get("source") or obj.get("deprecatedSource") or {}
    component = (
        source.get("component") or obj.get("reportingComponent") or obj.get("reportingController") or ""
    )
    instance = source.get("host") or obj.get("reportingInstance") or ""
    message = _first(obj, "message", "note") or ""
    return [
        last_seen,
        obj.get("type") or "",
        obj.get("reason") or "",
        target,
        involved.get("fieldPath") or "",
        f"{component}, {instance}" if instance else component,
        str(message).strip(),
        first_seen,
        count,
        (obj.get("metadata") or {}).get("name", ""),
    ]
