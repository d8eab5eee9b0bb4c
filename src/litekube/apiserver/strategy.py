"""Per-kind behaviour of the generic store: what create, update and delete do beyond storing.

Upstream keeps one "strategy" per resource (pkg/registry/<group>/<resource>/strategy.go);
here the differences are few enough for one table:
- which kinds track `metadata.generation` (bumped when anything but metadata/status changes);
- which kinds have a status subresource (then the main resource ignores status changes and
  the status subresource ignores everything else);
- what create resets (status of workloads starts empty).
"""

from __future__ import annotations

from typing import Any

from litekube.api.resources import ResourceType

JSON = dict[str, Any]

# Kinds whose generation upstream maintains (the strategies call `generation++` on spec change).
GENERATION_KINDS = frozenset(
    {
        "Deployment",
        "ReplicaSet",
        "DaemonSet",
        "StatefulSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Pod",
        "Service",
        "Namespace",
        "Node",
        "PersistentVolumeClaim",
        "IngressClass",
        "EndpointSlice",
        "ControllerRevision",
    }
)
# Kinds whose create drops a client-supplied status (strategies' PrepareForCreate).
RESET_STATUS_ON_CREATE = frozenset(
    {
        "Deployment",
        "ReplicaSet",
        "DaemonSet",
        "StatefulSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Service",
        "Pod",
    }
)


def has_status_subresource(rt: ResourceType) -> bool:
    return "status" in rt.subresources


def tracks_generation(rt: ResourceType) -> bool:
    return rt.kind in GENERATION_KINDS and rt.group != "events.k8s.io"


def spec_part(obj: JSON) -> JSON:
    """Everything generation depends on: the object without metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def prepare_for_create(rt: ResourceType, obj: JSON) -> None:
    if rt.kind in RESET_STATUS_ON_CREATE:
        obj.pop("status", None)
    if rt.kind == "Namespace":
        obj["status"] = {"phase": "Active"}


def prepare_for_update(rt: ResourceType, new: JSON, old: JSON) -> None:
    """Main-resource update: status comes from the stored object when a status subresource exists."""
    if has_status_subresource(rt):
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)


def prepare_for_status_update(rt: ResourceType, new: JSON, old: JSON) -> JSON:
    """Status update: only status (and, as upstream allows, labels/annotations? no) changes."""
    result = {k: v for k, v in old.items() if k != "status"}
    if "status" in new:
        result["status"] = new["status"]
    result["metadata"] = dict(old["metadata"])
    return result
