"""ReplicaSet status: count what the claimed pods are doing, write it only when it changed.

replicas = claimed active pods; fullyLabeledReplicas = those whose labels match the
template's labels; readyReplicas = Ready ones; availableReplicas = Ready for at least
minReadySeconds. A failed create/delete in the same sync sets the ReplicaFailure condition
(reason FailedCreate / FailedDelete, message = the error); a clean sync removes it.
"""

from __future__ import annotations

from datetime import datetime

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import ResourceType
from litekube.api.selectors import selector_from_spec
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.pods import is_pod_available, is_pod_ready
from litekube.machinery.clock import rfc3339

STATUS_UPDATE_RETRIES = 1


def calculate_status(owner: JSON, pods: list[JSON], manage_error: Exception | None, now: datetime) -> JSON:
    spec = owner.get("spec") or {}
    status = deep_copy(owner.get("status") or {})
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    template_selector = selector_from_spec({"matchLabels": template_labels})
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully_labeled = ready = available = 0
    for pod in pods:
        if template_selector.matches((pod.get("metadata") or {}).get("labels")):
            fully_labeled += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
    failure = next((c for c in status.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None)
    if manage_error is not None:
        if failure is None:
            diff = len(pods) - int(spec.get("replicas", 1))
            reason = "FailedCreate" if diff < 0 else ("FailedDelete" if diff > 0 else "")
            message = manage_error.status.get("message", "") if isinstance(manage_error, ApiError) else ""
            failure = {
                "type": "ReplicaFailure",
                "status": "True",
                "lastTransitionTime": rfc3339(now),
                "reason": reason,
                "message": message or str(manage_error),
            }
        conditions.append(failure)
    status["conditions"] = conditions
    if not conditions:
        status.pop("conditions")
    status["replicas"] = len(pods)
    status["fullyLabeledReplicas"] = fully_labeled
    status["readyReplicas"] = ready
    status["availableReplicas"] = available
    return status


_COUNTERS = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")


async def update_status(client: Client, rt: ResourceType, owner: JSON, new_status: JSON) -> JSON:
    """Write `new_status` (+ observedGeneration) unless nothing changed; one retry on conflict."""
    for attempt in range(STATUS_UPDATE_RETRIES + 1):
        current = owner.get("status") or {}
        generation = owner["metadata"].get("generation", 0)
        unchanged = all(int(current.get(k) or 0) == int(new_status.get(k) or 0) for k in _COUNTERS)
        if (
            unchanged
            and current.get("observedGeneration") == generation
            and json_equal(current.get("conditions") or [], new_status.get("conditions") or [])
        ):
            return owner
        body = deep_copy(owner)
        body["status"] = {**new_status, "observedGeneration": generation}
        try:
            return await client.update_status(rt, body)
        except ApiError:
            if attempt == STATUS_UPDATE_RETRIES:
                raise
            meta = owner["metadata"]
            owner = await client.get(rt, meta["name"], meta.get("namespace"))
    return owner
