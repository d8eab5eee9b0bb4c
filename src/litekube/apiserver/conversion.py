"""Conversion between the stored (core/v1) and served shapes of resources that share storage.

events.k8s.io/v1 Events are core/v1 Events under other field names (upstream converts both
to one internal type). The mapping:

    core/v1 Event                      events.k8s.io/v1 Event
    involvedObject                 <-> regarding
    related                        <-> related
    message                        <-> note
    source.component               <-> deprecatedSource.component (reportingController if unset)
    reportingComponent             <-> reportingController
    reportingInstance              <-> reportingInstance
    firstTimestamp / lastTimestamp <-> deprecatedFirstTimestamp / deprecatedLastTimestamp
    count                          <-> deprecatedCount
    eventTime, series, action, reason, type: same names
"""

from __future__ import annotations

from typing import Any

from litekube.api.resources import ResourceType

JSON = dict[str, Any]

_RENAMES = (
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("source", "deprecatedSource"),
)
_SAME = ("metadata", "related", "reportingInstance", "eventTime", "series", "action", "reason", "type")


def needs_conversion(rt: ResourceType) -> bool:
    return rt.storage_group is not None and rt.storage_group != rt.group


def to_served(rt: ResourceType, stored: JSON) -> JSON:
    """Stored core/v1 shape → the shape of `rt`."""
    if not needs_conversion(rt):
        return stored
    out: JSON = {"apiVersion": rt.api_version, "kind": rt.kind}
    for key in _SAME:
        if key in stored:
            out[key] = stored[key]
    for core, new in _RENAMES:
        if core in stored:
            out[new] = stored[core]
    if "eventTime" not in out or out["eventTime"] is None:
        out["eventTime"] = None
    if not out.get("reportingController") and (stored.get("source") or {}).get("component"):
        out["reportingController"] = stored["source"]["component"]
    return out


def to_stored(rt: ResourceType, served: JSON) -> JSON:
    """The shape of `rt` → the stored core/v1 shape."""
    if not needs_conversion(rt):
        return served
    out: JSON = {"apiVersion": "v1", "kind": "Event"}
    for key in _SAME:
        if key in served:
            out[key] = served[key]
    for core, new in _RENAMES:
        if new in served:
            out[core] = served[new]
    out.setdefault("involvedObject", {})
    return out
