"""Tables of the pod controllers: Deployment, ReplicaSet, DaemonSet, StatefulSet,
ReplicationController and ControllerRevision.

Counts are int64 cells (except the `ready/desired` strings); the wide columns list the
template's containers and images and the selector as `metav1.FormatLabelSelector` prints it.
"""

from __future__ import annotations

from typing import Any

from litekube.api.printers.columns import (
    APPS,
    CONTAINERS,
    CORE,
    IMAGES,
    Column,
    age_column,
    container_cells,
    format_labels,
    name_column,
)
from litekube.api.printers.duration import translate_timestamp_since
from litekube.api.selectors import SelectorError, format_label_selector, selector_from_spec


def _template_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    return (((obj.get("spec") or {}).get("template") or {}).get("spec")) or None


def _common(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}


DEPLOYMENT_COLUMNS = (
    name_column(),
    Column("Ready", text="Number of the pod with ready state"),
    Column("Up-to-date", doc=(APPS + "DeploymentStatus", "updatedReplicas")),
    Column("Available", doc=(APPS + "DeploymentStatus", "availableReplicas")),
    age_column(),
    CONTAINERS,
    IMAGES,
    Column("Selector", priority=1, doc=(APPS + "DeploymentSpec", "selector")),
)


def deployment_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata, spec, status = _common(obj)
    names, images = container_cells(_template_spec(obj))
    # upstream prints selector.String() here (empty for nil/{}), not FormatLabelSelector
    try:
        selector = str(selector_from_spec(spec.get("selector")))
    except SelectorError:
        selector = "<invalid>"
    return [
        metadata.get("name", ""),
        f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas') or 0)}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
        names,
        images,
        selector,
    ]


def _replicated_columns(prefix: str, kind: str) -> tuple[Column, ...]:
    """ReplicaSet and ReplicationController print the same columns from their own types."""
    return (
        name_column(),
        Column("Desired", "integer", doc=(prefix + kind + "Spec", "replicas")),
        Column("Current", "integer", doc=(prefix + kind + "Status", "replicas")),
        Column("Ready", "integer", doc=(prefix + kind + "Status", "readyReplicas")),
        age_column(),
        CONTAINERS,
        IMAGES,
        Column("Selector", priority=1, doc=(prefix + kind + "Spec", "selector")),
    )


def _replicated_cells(obj: dict[str, Any], now: float, selector: str) -> list[Any]:
    metadata, spec, status = _common(obj)
    names, images = container_cells(_template_spec(obj))
    return [
        metadata.get("name", ""),
        int(spec.get("replicas") or 0),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
        names,
        images,
        selector,
    ]


REPLICA_SET_COLUMNS = _replicated_columns(APPS, "ReplicaSet")
REPLICATION_CONTROLLER_COLUMNS = _replicated_columns(CORE, "ReplicationController")


def replica_set_cells(obj: dict[str, Any], now: float) -> list[Any]:
    # a metav1.LabelSelector
    return _replicated_cells(obj, now, format_label_selector((obj.get("spec") or {}).get("selector")))


def replication_controller_cells(obj: dict[str, Any], now: float) -> list[Any]:
    # a plain map of labels
    return _replicated_cells(obj, now, format_labels((obj.get("spec") or {}).get("selector")))


DAEMON_SET_COLUMNS = (
    name_column(),
    Column("Desired", "integer", doc=(APPS + "DaemonSetStatus", "desiredNumberScheduled")),
    Column("Current", "integer", doc=(APPS + "DaemonSetStatus", "currentNumberScheduled")),
    Column("Ready", "integer", doc=(APPS + "DaemonSetStatus", "numberReady")),
    Column("Up-to-date", "integer", doc=(APPS + "DaemonSetStatus", "updatedNumberScheduled")),
    Column("Available", "integer", doc=(APPS + "DaemonSetStatus", "numberAvailable")),
    Column("Node Selector", doc=(CORE + "PodSpec", "nodeSelector")),
    age_column(),
    CONTAINERS,
    IMAGES,
    Column("Selector", priority=1, doc=(APPS + "DaemonSetSpec", "selector")),
)


def daemon_set_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata, spec, status = _common(obj)
    template = _template_spec(obj)
    names, images = container_cells(template)
    return [
        metadata.get("name", ""),
        int(status.get("desiredNumberScheduled") or 0),
        int(status.get("currentNumberScheduled") or 0),
        int(status.get("numberReady") or 0),
        int(status.get("updatedNumberScheduled") or 0),
        int(status.get("numberAvailable") or 0),
        format_labels((template or {}).get("nodeSelector")),
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


STATEFUL_SET_COLUMNS = (
    name_column(),
    Column("Ready", text="Number of the pod with ready state"),
    age_column(),
    CONTAINERS,
    IMAGES,
)


def stateful_set_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata, spec, status = _common(obj)
    names, images = container_cells(_template_spec(obj))
    return [
        metadata.get("name", ""),
        f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas') or 0)}",
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
        names,
        images,
    ]


CONTROLLER_REVISION_COLUMNS = (
    name_column(),
    Column("Controller", text="Controller of the object"),
    Column("Revision", doc=(APPS + "ControllerRevision", "revision")),
    age_column(),
)


def controller_revision_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    controller = "<none>"
    for owner in metadata.get("ownerReferences") or ():
        if owner.get("controller"):
            # "daemonset.apps/name": the lower-cased GroupKind, then the name
            group = str(owner.get("apiVersion", "")).rpartition("/")[0]
            kind = str(owner.get("kind", ""))
            group_kind = f"{kind}.{group}" if group else kind
            controller = (
                f"{group_kind.lower()}/{owner.get('name', '')}" if group_kind else owner.get("name", "")
            )
            break
    return [
        metadata.get("name", ""),
        controller,
        int(obj.get("revision") or 0),
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
    ]
