"""One pass of upstream's `updateStatefulSet`: create, replace, scale down, roll — in order.

Pods are split into `replicas` (ordinals start … start+N-1, a slot may be empty) and
`condemned` (ordinals beyond, highest first). One pass, stopping early under OrderedReady
(`monotonic`) at the first thing that must finish before the next may begin:

1. replicas in ordinal order: a missing pod is created (from the current revision when its
   ordinal is below the partition, else from the update revision); a Failed or Succeeded pod
   is deleted to be recreated; under OrderedReady a pod that is terminating, or not yet
   Running and Ready, stops the pass — so web-1 is created only once web-0 is Ready;
2. condemned pods, highest ordinal first: deleted, one per pass under OrderedReady and only
   when every lower pod is healthy (the first unhealthy pod itself may go);
3. RollingUpdate: from the highest ordinal down to the partition, the first pod not on the
   update revision is deleted (the next pass recreates it from the update revision), and
   an unhealthy pod stops the pass — so the update proceeds one pod at a time, in reverse.

`Parallel` does steps 1 and 2 for all pods at once without waiting; step 3 is the same.
The pass returns its writes as `Actions` for the controller to perform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from litekube.client.base import JSON
from litekube.controllers.statefulset.identity import ordinal_of, pod_revision
from litekube.controllers.statefulset.revisions import Revisions
from litekube.controllers.statefulset.status import is_running_and_ready


@dataclass
class Actions:
    create: list[tuple[int, JSON]] = field(default_factory=list)  # (ordinal, revision)
    delete: list[JSON] = field(default_factory=list)


def _terminating(pod: JSON) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def _finished(pod: JSON) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def _healthy(pod: JSON) -> bool:
    return is_running_and_ready(pod) and not _terminating(pod)


def start_ordinal(sts: JSON) -> int:
    return int(((sts.get("spec") or {}).get("ordinals") or {}).get("start") or 0)


def partition_of(sts: JSON) -> int:
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    return int((strategy.get("rollingUpdate") or {}).get("partition") or 0)


def split(sts: JSON, pods: list[JSON]) -> tuple[list[JSON | None], list[JSON]]:
    spec = sts.get("spec") or {}
    count = int(spec.get("replicas", 1))
    start = start_ordinal(sts)
    replicas: list[JSON | None] = [None] * count
    condemned: list[JSON] = []
    name = sts["metadata"]["name"]
    for pod in pods:
        ordinal = ordinal_of(name, pod)
        if ordinal is None:
            continue
        if start <= ordinal < start + count:
            replicas[ordinal - start] = pod
        else:
            condemned.append(pod)
    condemned.sort(key=lambda p: -(ordinal_of(name, p) or 0))
    return replicas, condemned


def _revision_for(sts: JSON, revisions: Revisions, ordinal: int, current_count: int) -> JSON:
    """Upstream isCurrentRevisionNeeded: below the partition a pod keeps the current revision;
    without a partition, below the number of pods still on the current revision.

    `current_count` is counted from the pods seen in this pass, not read from the stored
    status: a pod deleted without a grace period (never seen terminating) must not be
    recreated on the old revision because the status written before its deletion still
    counted it. Example: 3 pods, web-2 updated and deleted → 2 current → web-2 comes back on
    the update revision, while a deleted web-0 would come back on the current one."""
    spec = sts.get("spec") or {}
    strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if strategy != "RollingUpdate" or revisions.current is revisions.update:
        return revisions.update
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
    start = start_ordinal(sts)
    if rolling.get("partition") is None:
        needed = ordinal < start + current_count
    else:
        needed = ordinal < start + int(rolling["partition"])
    return revisions.current if needed else revisions.update


def plan(sts: JSON, pods: list[JSON], revisions: Revisions) -> Actions:
    spec = sts.get("spec") or {}
    monotonic = (spec.get("podManagementPolicy") or "OrderedReady") != "Parallel"
    start = start_ordinal(sts)
    replicas, condemned = split(sts, pods)
    current_name = revisions.current["metadata"]["name"]
    current_count = sum(1 for p in pods if pod_revision(p) == current_name and not _terminating(p))
    actions = Actions()
    for index, pod in enumerate(replicas):
        ordinal = start + index
        if pod is None:
            actions.create.append((ordinal, _revision_for(sts, revisions, ordinal, current_count)))
            if monotonic:
                return actions
            continue
        if _finished(pod) and not _terminating(pod):
            actions.delete.append(pod)
            if monotonic:
                return actions
            continue
        if monotonic and not _healthy(pod):
            return actions  # wait: for it to become Ready, or for its deletion to finish
    first_unhealthy = next((p for p in [*replicas, *condemned] if p is not None and not _healthy(p)), None)
    for pod in condemned:
        if _terminating(pod):
            if monotonic:
                return actions
            continue
        if monotonic and not _healthy(pod) and pod is not first_unhealthy:
            return actions
        actions.delete.append(pod)
        if monotonic:
            return actions
    if actions.create or actions.delete:
        return actions
    if ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") != "RollingUpdate":
        return actions  # OnDelete: pods change revision only when a user deletes them
    update_name = revisions.update["metadata"]["name"]
    update_min = max(partition_of(sts) - start, 0)
    for index in range(len(replicas) - 1, update_min - 1, -1):
        pod = replicas[index]
        if pod is None:
            return actions
        if pod_revision(pod) != update_name and not _terminating(pod):
            actions.delete.append(pod)
            return actions
        if not _healthy(pod):
            return actions
    return actions
