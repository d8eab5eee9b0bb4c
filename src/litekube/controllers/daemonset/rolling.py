"""DaemonSet RollingUpdate: which old pods to delete and which nodes get a surge pod now.

Pure arithmetic over "node → its daemon pods" (upstream `rollingUpdate`). The budgets are
scaled against desiredNumberScheduled, both rounding up; when both come out 0,
maxUnavailable becomes 1 so a rollout can always progress.

Without surge (maxSurge 0), each node is one of:
- no pod, or both an old and a new pod → the manage loop is still acting: unavailable;
- a new pod → unavailable until it is available (minReadySeconds);
- an old pod that is not available → delete at once (it costs nothing);
- an old available pod → a candidate, deleted while budget remains.
Worked example: 5 nodes, maxUnavailable 2, one node already has an unready new pod →
numUnavailable 1, so 1 more old pod is deleted now; the manage loop then creates its
replacement with the new template.

With surge (maxSurge > 0, maxUnavailable 0): a node with only an old pod gets a new pod
beside it (at once if the old one is unavailable, else while surge budget remains); once the
new pod is available, the old one is deleted. Nodes are visited in name order so the result
does not depend on dict order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from litekube.client.base import JSON
from litekube.controllers.pods import is_pod_available

REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"


@dataclass
class RollingPlan:
    delete: list[JSON] = field(default_factory=list)
    create_on: list[str] = field(default_factory=list)


def scaled(value: int | str | None, total: int, default: int) -> int:
    """intstr scaling, rounding up (both DaemonSet budgets do). "10%" of 15 → 2."""
    if value is None:
        return default
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        return math.ceil(int(text[:-1]) * total / 100)
    return int(text)


def budgets(ds: JSON, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for this many desired nodes."""
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = scaled(rolling.get("maxSurge"), desired, 0)
    unavailable = scaled(rolling.get("maxUnavailable"), desired, 1)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_updated(pod: JSON, hash_: str, generation: int) -> bool:
    """Upstream IsPodUpdated: the revision hash matches, or the (legacy) template generation."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get(REVISION_LABEL) == hash_ or labels.get(GENERATION_LABEL) == str(generation)


def split_pods(pods: list[JSON], hash_: str, generation: int) -> tuple[JSON | None, JSON | None, bool]:
    """(new pod, old pod, ok); ok is False when a node has more than one of either kind."""
    new: JSON | None = None
    old: JSON | None = None
    for pod in pods:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        if is_updated(pod, hash_, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def plan_rolling_update(
    ds: JSON,
    node_pods: dict[str, list[JSON]],
    desired: int,
    hash_: str,
    now: datetime,
) -> RollingPlan:
    """`node_pods` holds only nodes where the daemon should run."""
    spec = ds.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    generation = int((ds.get("metadata") or {}).get("generation") or 0)
    max_surge, max_unavailable = budgets(ds, desired)
    plan = RollingPlan()
    if max_surge == 0:
        unavailable = 0
        replace_now: list[JSON] = []
        candidates: list[JSON] = []
        for node in sorted(node_pods):
            new, old, ok = split_pods(node_pods[node], hash_, generation)
            if not ok or (new is None) == (old is None):
                unavailable += 1
            elif new is not None:
                if not is_pod_available(new, min_ready, now):
                    unavailable += 1
            elif old is not None:
                if not is_pod_available(old, min_ready, now):
                    replace_now.append(old)
                elif unavailable < max_unavailable:
                    candidates.append(old)
        remaining = min(max(max_unavailable - unavailable, 0), len(candidates))
        plan.delete = replace_now + candidates[:remaining]
        return plan
    surging = 0
    surge_now: list[str] = []
    surge_candidates: list[str] = []
    for node in sorted(node_pods):
        new, old, ok = split_pods(node_pods[node], hash_, generation)
        if not ok:
            surging += 1
            continue
        if old is None:
            continue
        if new is None:
            if not is_pod_available(old, min_ready, now):
                surge_now.append(node)
            elif surging < max_surge:
                surge_candidates.append(node)
            continue
        if not is_pod_available(new, min_ready, now):
            surging += 1  # stays surged until the new pod is available
            continue
        plan.delete.append(old)
    remaining = min(max(max_surge - surging, 0), len(surge_candidates))
    plan.create_on = surge_now + surge_candidates[:remaining]
    return plan
