"""Defaulting: what a real v1.36 API server fills in when an object is created or updated.

Flow: `apply_defaults(obj)` picks the kind's function by apiVersion/kind and mutates the
object in place. Workload kinds default their own fields, then their pod template with the
same pod-spec defaults a Pod gets (`pod.py`). A bare Pod additionally gets what admission
plugins add on create (service account, priority, default tolerations) and its initial
status. Nothing stateful happens here: cluster IPs and node ports come from
`litekube.api.allocators`, names from `generateName` and uids from the API server.

Kinds without defaults (ConfigMap, ServiceAccount, Lease, Event, Ingress, IngressClass,
ControllerRevision) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litekube.api.defaults import other, pod, workloads

__all__ = ["apply_defaults", "image_pull_policy"]

image_pull_policy = pod.image_pull_policy

_DEFAULTERS: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("v1", "Pod"): pod.default_pod,
    ("v1", "PodTemplate"): lambda obj: pod.default_pod_template(obj.get("template")),
    ("v1", "Service"): other.default_service,
    ("v1", "Namespace"): other.default_namespace,
    ("v1", "Secret"): other.default_secret,
    ("v1", "Node"): other.default_node,
    ("v1", "Endpoints"): other.default_endpoints,
    ("v1", "ReplicationController"): workloads.default_replication_controller,
    ("apps/v1", "Deployment"): workloads.default_deployment,
    ("apps/v1", "ReplicaSet"): workloads.default_replica_set,
    ("apps/v1", "DaemonSet"): workloads.default_daemon_set,
    ("apps/v1", "StatefulSet"): workloads.default_stateful_set,
    ("batch/v1", "Job"): workloads.default_job,
    ("batch/v1", "CronJob"): workloads.default_cron_job,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): other.default_hpa,
    ("discovery.k8s.io/v1", "EndpointSlice"): other.default_endpoint_slice,
}


def apply_defaults(obj: dict[str, Any]) -> None:
    """Fill in upstream's defaults for `obj`'s kind, in place."""
    defaulter = _DEFAULTERS.get((obj.get("apiVersion") or "", obj.get("kind") or ""))
    if defaulter is None:
        return
    try:
        defaulter(obj)
    except (TypeError, AttributeError, ValueError, KeyError):
        # a field of the wrong JSON type: leave the rest as is; validation reports it
        pass
