"""DaemonSet status counters, as `kubectl rollout status ds/x` and `kubectl get ds` read them.

Per node where the daemon should run and already has a pod (the oldest one counts):
currentNumberScheduled, numberReady, numberAvailable (ready for minReadySeconds),
updatedNumberScheduled (the pod runs the current revision). desiredNumberScheduled counts
the nodes where it should run; numberMisscheduled the nodes with a daemon pod that should
not have one; numberUnavailable = desired - available.
"""

from __future__ import annotations

from datetime import datetime

from litekube.api.patch import deep_copy
from litekube.client.base import JSON
from litekube.controllers.daemonset.rolling import is_updated
from litekube.controllers.pods import is_pod_available, is_pod_ready
from litekube.machinery.clock import parse_time


def oldest_first(pods: list[JSON]) -> list[JSON]:
    def key(pod: JSON) -> tuple[float, str]:
        created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
        return (created.timestamp() if created else 0.0, (pod.get("metadata") or {}).get("name", ""))

    return sorted(pods, key=key)


def calculate_status(
    ds: JSON,
    node_pods: dict[str, list[JSON]],
    should_run: set[str],
    hash_: str,
    now: datetime,
) -> JSON:
    spec = ds.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    generation = int(ds["metadata"].get("generation") or 0)
    desired = scheduled = misscheduled = ready = available = updated = 0
    for node in should_run:
        desired += 1
        pods = node_pods.get(node)
        if not pods:
            continue
        scheduled += 1
        pod = oldest_first(pods)[0]
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
        if is_updated(pod, hash_, generation):
            updated += 1
    for node, pods in node_pods.items():
        if pods and node not in should_run:
            misscheduled += 1
    status = deep_copy(ds.get("status") or {})
    status.update(
        {
            "currentNumberScheduled": scheduled,
            "numberMisscheduled": misscheduled,
            "desiredNumberScheduled": desired,
            "numberReady": ready,
            "observedGeneration": generation,
            "updatedNumberScheduled": updated,
            "numberAvailable": available,
            "numberUnavailable": desired - available,
        }
    )
    return status
