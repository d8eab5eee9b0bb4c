"""Server-side printing: `meta.k8s.io/v1` Tables for `kubectl get`.

kubectl asks for `application/json;as=Table;...` and renders whatever columns the server
sends, so every human-readable `get` depends on this package. `build_table(rt, objects)`
looks up the kind's `Printer` (column definitions plus a function computing one row's
cells, and for pods the row conditions), renders every object against one `now`, and
attaches each row's object as kubectl needs it: `PartialObjectMetadata` (labels for
`--show-labels`, namespace for `-A`), the full object (for `--sort-by`) or nothing.
Like the real apiserver we always render the wide columns; kubectl hides priority > 0
columns itself unless `-o wide`. Kinds without a printer get upstream's default
`Name` + `Created At` table.

The per-kind modules hold the rules: `pods`, `workloads`, `batch`, `services`,
`networking`, `core`, `events`; `duration` renders ages; `columns` builds definitions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litekube.api.printers import batch, core, events, networking, pods, services, workloads
from litekube.api.printers.columns import META, Column, name_column, render
from litekube.api.printers.duration import human_duration, now_seconds, translate_timestamp_since
from litekube.api.resources import ResourceType

__all__ = ["Printer", "build_table", "human_duration", "printer_for", "translate_timestamp_since"]

Cells = Callable[[dict[str, Any], float], list[Any]]
Conditions = Callable[[dict[str, Any]], list[dict[str, str]] | None]


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    cells: Cells
    conditions: Conditions | None = None

    @functools.cached_property
    def column_definitions(self) -> list[dict[str, Any]]:
        return render(self.columns)


def _default_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    created = metadata.get("creationTimestamp")
    # DefaultTableConvertor prints the creation time as RFC 3339 in UTC
    if created:
        try:
            parsed = datetime.fromisoformat(str(created))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            created = parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            pass
    else:
        created = "0001-01-01T00:00:00Z"  # Go's zero time, as upstream prints it
    return [metadata.get("name", ""), created]


DEFAULT = Printer(
    (name_column(), Column("Created At", "date", doc=(META, "creationTimestamp"))), _default_cells
)

_PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): Printer(pods.COLUMNS, pods.cells, pods.conditions),
    ("", "Service"): Printer(services.SERVICE_COLUMNS, services.service_cells),
    ("", "Endpoints"): Printer(services.ENDPOINTS_COLUMNS, services.endpoints_cells),
    ("", "ConfigMap"): Printer(core.CONFIG_MAP_COLUMNS, core.config_map_cells),
    ("", "Secret"): Printer(core.SECRET_COLUMNS, core.secret_cells),
    ("", "ServiceAccount"): Printer(core.SERVICE_ACCOUNT_COLUMNS, core.name_age_cells),
    ("", "Namespace"): Printer(core.NAMESPACE_COLUMNS, core.namespace_cells),
    ("", "Node"): Printer(core.NODE_COLUMNS, core.node_cells),
    ("", "Event"): Printer(events.COLUMNS, events.cells),
    ("events.k8s.io", "Event"): Printer(events.COLUMNS, events.cells),
    ("", "ReplicationController"): Printer(
        workloads.REPLICATION_CONTROLLER_COLUMNS, workloads.replication_controller_cells
    ),
    ("apps", "Deployment"): Printer(workloads.DEPLOYMENT_COLUMNS, workloads.deployment_cells),
    ("apps", "ReplicaSet"): Printer(workloads.REPLICA_SET_COLUMNS, workloads.replica_set_cells),
    ("apps", "DaemonSet"): Printer(workloads.DAEMON_SET_COLUMNS, workloads.daemon_set_cells),
    ("apps", "StatefulSet"): Printer(workloads.STATEFUL_SET_COLUMNS, workloads.stateful_set_cells),
    ("apps", "ControllerRevision"): Printer(
        workloads.CONTROLLER_REVISION_COLUMNS, workloads.controller_revision_cells
    ),
    ("batch", "Job"): Printer(batch.JOB_COLUMNS, batch.job_cells),
    ("batch", "CronJob"): Printer(batch.CRON_JOB_COLUMNS, batch.cron_job_cells),
    ("autoscaling", "HorizontalPodAutoscaler"): Printer(core.HPA_COLUMNS, core.hpa_cells),
    ("networking.k8s.io", "Ingress"): Printer(networking.INGRESS_COLUMNS, networking.ingress_cells),
    ("networking.k8s.io", "IngressClass"): Printer(
        networking.INGRESS_CLASS_COLUMNS, networking.ingress_class_cells
    ),
    ("discovery.k8s.io", "EndpointSlice"): Printer(
        services.ENDPOINT_SLICE_COLUMNS, services.endpoint_slice_cells
    ),
    ("coordination.k8s.io", "Lease"): Printer(core.LEASE_COLUMNS, core.lease_cells),
}


def printer_for(rt: ResourceType) -> Printer:
    return _PRINTERS.get((rt.group, rt.kind), DEFAULT)


def _row_object(rt: ResourceType, obj: dict[str, Any], include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        if obj.get("apiVersion") and obj.get("kind"):
            return obj
        # kubectl's --sort-by decodes the row object and panics without kind/apiVersion
        return {"apiVersion": rt.api_version, "kind": rt.kind, **obj}
    # The metadata dict is shared, not copied: the table is serialised right away.
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def build_table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of `objects` (all of kind `rt`), rendered at `now`."""
    printer = printer_for(rt)
    at = now_seconds(now)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.cells(obj, at)}
        if printer.conditions is not None and (conditions := printer.conditions(obj)):
            row["conditions"] = conditions
        if (row_object := _row_object(rt, obj, include_object)) is not None:
            row["object"] = row_object
        rows.append(row)
    metadata: dict[str, str] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": printer.column_definitions,
        "rows": rows,
    }
