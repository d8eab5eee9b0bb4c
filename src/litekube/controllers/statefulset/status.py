"""StatefulSet status, as `kubectl rollout status sts/x` and `kubectl get sts` read it.

replicas counts the pods that exist; readyReplicas those Running and Ready;
availableReplicas those ready for minReadySeconds; currentReplicas / updatedReplicas those
(not terminating) labelled with the current / update revision. When a RollingUpdate has
put every pod on the update revision and all are ready, the update revision becomes the
current one (upstream `completeRollingUpdate`): that is what `rollout status` waits for.
"""

from __future__ import annotations

from datetime import datetime

from litekube.api.patch import deep_copy
from litekube.client.base import JSON
from litekube.controllers.pods import is_pod_available, is_pod_ready
from litekube.controllers.statefulset.identity import pod_revision
from litekube.controllers.statefulset.revisions import Revisions


def is_running_and_ready(pod: JSON) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_pod_ready(pod)


def calculate_status(sts: JSON, pods: list[JSON], revisions: Revisions, now: datetime) -> JSON:
    spec = sts.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    current_name = revisions.current["metadata"]["name"]
    update_name = revisions.update["metadata"]["name"]
    replicas = ready = available = current = updated = 0
    for pod in pods:
        replicas += 1
        if is_running_and_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        revision = pod_revision(pod)
        if revision == current_name:
            current += 1
        if revision == update_name:
            updated += 1
    status = deep_copy(sts.get("status") or {})
    status.update(
        {
            "observedGeneration": int(sts["metadata"].get("generation") or 0),
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": available,
            "currentReplicas": current,
            "updatedReplicas": updated,
            "currentRevision": current_name,
            "updateRevision": update_name,
        }
    )
    strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if strategy == "RollingUpdate" and updated == replicas and ready == replicas:
        status["currentReplicas"] = updated
        status["currentRevision"] = update_name
    return status
