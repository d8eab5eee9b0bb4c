"""Which pods a ReplicaSet deletes first when it scales down (upstream ActivePodsWithRanks).

Earlier in this order is deleted first:
1. unscheduled (no spec.nodeName) before scheduled;
2. Pending before Unknown before Running;
3. not Ready before Ready;
4. lower `controller.kubernetes.io/pod-deletion-cost` before higher;
5. more active sibling pods (of the same owner's ReplicaSets) on the same node first;
6. both Ready: ready more recently first, compared in log2 buckets of age (so pods that
   became ready 10 s and 12 s ago tie, and then the uid decides);
7. more container restarts first;
8. newer first (again in log2 buckets of age; ties broken by uid).

Worked example of the log2 buckets: now - created = 5 s → bucket floor(log2(5e9 ns)) = 32;
7 s → 32 as well (tie); 9 s → 33. So a pod created 5 s ago and one created 7 s ago are
equally "new", and the one 9 s old is older than both.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime

from litekube.client.base import JSON
from litekube.controllers.pods import is_pod_active, is_pod_ready, ready_condition, restart_count
from litekube.machinery.clock import parse_time

_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


def _deletion_cost(pod: JSON) -> int:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST)
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _bucket(moment: datetime, now: datetime) -> int:
    nanos = (now - moment).total_seconds() * 1e9
    return int(math.log2(nanos)) if nanos > 0 else -1


def _node(pod: JSON) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _uid(pod: JSON) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _compare_times(a: datetime | None, b: datetime | None, pa: JSON, pb: JSON, now: datetime) -> int:
    """<0 when `a` (the later / empty time) should go first."""
    if a == b:
        return 0
    if a is None or b is None:
        return -1 if a is None else 1  # an empty time sorts first
    diff = _bucket(a, now) - _bucket(b, now)
    if diff == 0:
        return -1 if _uid(pa) < _uid(pb) else (1 if _uid(pa) > _uid(pb) else 0)
    return -1 if diff < 0 else 1


def rank_pods_for_deletion(pods: list[JSON], related: list[JSON], now: datetime) -> list[JSON]:
    """`pods` sorted so that the first ones are the best to delete."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_pod_active(pod):
            on_node[_node(pod)] = on_node.get(_node(pod), 0) + 1

    def less(a: JSON, b: JSON) -> int:
        node_a, node_b = _node(a), _node(b)
        if node_a != node_b and (not node_a or not node_b):
            return -1 if not node_a else 1
        phase_a = _PHASE_ORDER.get((a.get("status") or {}).get("phase", ""), 0)
        phase_b = _PHASE_ORDER.get((b.get("status") or {}).get("phase", ""), 0)
        if phase_a != phase_b:
            return -1 if phase_a < phase_b else 1
        ready_a, ready_b = is_pod_ready(a), is_pod_ready(b)
        if ready_a != ready_b:
            return -1 if not ready_a else 1
        cost_a, cost_b = _deletion_cost(a), _deletion_cost(b)
        if cost_a != cost_b:
            return -1 if cost_a < cost_b else 1
        rank_a, rank_b = on_node.get(node_a, 0), on_node.get(node_b, 0)
        if rank_a != rank_b:
            return -1 if rank_a > rank_b else 1
        if ready_a and ready_b:
            since_a = parse_time((ready_condition(a) or {}).get("lastTransitionTime"))
            since_b = parse_time((ready_condition(b) or {}).get("lastTransitionTime"))
            result = _compare_times(since_a, since_b, a, b, now)
            if result:
                return result
        restarts_a, restarts_b = restart_count(a), restart_count(b)
        if restarts_a != restarts_b:
            return -1 if restarts_a > restarts_b else 1
        created_a = parse_time((a.get("metadata") or {}).get("creationTimestamp"))
        created_b = parse_time((b.get("metadata") or {}).get("creationTimestamp"))
        return _compare_times(created_a, created_b, a, b, now)

    return sorted(pods, key=functools.cmp_to_key(less))
