"""Building a Job's pods from its template, and classifying the pods it has.

A new pod gets generateName `<job>-` (Indexed: `<job>-<index>-`), the Job's labels
(`batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name` and the legacy
`controller-uid`, `job-name`), the controller ownerReference and the
`batch.kubernetes.io/job-tracking` finalizer, which keeps a finished pod around until the
controller has counted it. Indexed pods also carry the completion index (annotation and
label), a hostname `<job>-<index>` and the JOB_COMPLETION_INDEX environment variable.
"""

from __future__ import annotations

from litekube.api.patch import deep_copy
from litekube.client.base import JSON
from litekube.controllers.job.indexed import COMPLETION_INDEX

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"


def job_labels(job: JSON) -> dict[str, str]:
    meta = job["metadata"]
    return {
        CONTROLLER_UID: meta["uid"],
        JOB_NAME: meta["name"],
        "controller-uid": meta["uid"],
        "job-name": meta["name"],
    }


def new_pod(job: JSON, owner_ref: JSON, index: int | None) -> JSON:
    template = deep_copy(((job.get("spec") or {}).get("template")) or {})
    meta = template.get("metadata") or {}
    name = job["metadata"]["name"]
    labels = {**(meta.get("labels") or {}), **job_labels(job)}
    annotations = dict(meta.get("annotations") or {})
    spec = template.get("spec") or {}
    pod_meta: JSON = {
        "generateName": f"{name}-" if index is None else f"{name}-{index}-",
        "labels": labels,
        "ownerReferences": [owner_ref],
        "finalizers": [TRACKING_FINALIZER],
    }
    if index is not None:
        labels[COMPLETION_INDEX] = str(index)
        annotations[COMPLETION_INDEX] = str(index)
        spec.setdefault("hostname", f"{name}-{index}")
        for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
            env = [e for e in container.get("env") or () if e.get("name") != "JOB_COMPLETION_INDEX"]
            env.insert(
                0,
                {
                    "name": "JOB_COMPLETION_INDEX",
                    "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}},
                },
            )
            container["env"] = env
    if annotations:
        pod_meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def phase(pod: JSON) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminal(pod: JSON) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def is_deleting(pod: JSON) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def has_tracking_finalizer(pod: JSON) -> bool:
    return TRACKING_FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or ())


def is_ready(pod: JSON) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False
