"""Workload defaults: Deployment, ReplicaSet, DaemonSet, StatefulSet, ReplicationController,
Job and CronJob (apps/v1 and batch/v1 `SetDefaults_*`), each also defaulting its pod template.

A Job also gets its generated selector here (what the registry's `PrepareForCreate` does): the
`batch.kubernetes.io/controller-uid` selector and the four labels on its template. The Job's
own labels then come from the template's, as upstream's Job defaulting copies them.
"""

from __future__ import annotations

from typing import Any

from litekube.api.defaults.pod import default_pod_template

Obj = dict[str, Any]

CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
_MAX_INT32 = 2**31 - 1


def _dict(parent: Obj, key: str) -> Obj:
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def default_deployment(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("replicas", 1)
    strategy = _dict(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_pod_template(spec.get("template"))


def default_replica_set(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("replicas", 1)
    default_pod_template(spec.get("template"))


def default_replication_controller(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    template = spec.get("template")
    template_labels = (
        ((template or {}).get("metadata") or {}).get("labels") if isinstance(template, dict) else None
    )
    if template_labels:
        if not spec.get("selector"):
            spec["selector"] = dict(template_labels)
        metadata = _dict(obj, "metadata")
        if not metadata.get("labels"):
            metadata["labels"] = dict(template_labels)
    spec.setdefault("replicas", 1)
    default_pod_template(template)


def default_daemon_set(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    strategy = _dict(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_pod_template(spec.get("template"))


def default_stateful_set(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = _dict(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        rolling.setdefault("partition", 0)
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    retention = _dict(spec, "persistentVolumeClaimRetentionPolicy")
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            default_persistent_volume_claim(claim)
    default_pod_template(spec.get("template"))


def default_persistent_volume_claim(claim: Obj) -> None:
    _dict(claim, "spec").setdefault("volumeMode", "Filesystem")
    _dict(claim, "status").setdefault("phase", "Pending")


def default_job(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _default_job_spec(spec)
    _generate_job_selector(obj, spec)
    template_labels = (_dict(spec, "template").get("metadata") or {}).get("labels")
    metadata = _dict(obj, "metadata")
    if template_labels and not metadata.get("labels"):
        metadata["labels"] = dict(template_labels)


def _default_job_spec(spec: Obj) -> None:
    # a non-parallel Job may leave both unset; when only one is set, parallelism defaults to 1
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = _MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    failure_policy = spec.get("podFailurePolicy")
    if isinstance(failure_policy, dict):
        for rule in failure_policy.get("rules") or []:
            for condition in (rule or {}).get("onPodConditions") or []:
                if isinstance(condition, dict):
                    condition.setdefault("status", "True")
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if failure_policy is not None else "TerminatingOrFailed"
    default_pod_template(spec.get("template"))


def _generate_job_selector(obj: Obj, spec: Obj) -> None:
    if spec.get("manualSelector") is True:
        return
    metadata = obj.get("metadata") or {}
    uid = metadata.get("uid")
    if not uid:
        return  # the registry sets the uid first; without it there is nothing to generate
    name = metadata.get("name") or ""
    template_meta = _dict(_dict(spec, "template"), "metadata")
    labels = _dict(template_meta, "labels")
    labels.setdefault(CONTROLLER_UID_LABEL, uid)
    labels.setdefault(JOB_NAME_LABEL, name)
    labels.setdefault(LEGACY_CONTROLLER_UID_LABEL, uid)
    labels.setdefault(LEGACY_JOB_NAME_LABEL, name)
    if spec.get("selector") is None:
        spec["selector"] = {"matchLabels": {CONTROLLER_UID_LABEL: uid}}


def default_cron_job(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = _dict(_dict(spec, "jobTemplate"), "spec")
    # only the pod template inside a job template is defaulted, not the Job-level fields
    default_pod_template(job_spec.get("template"))
