"""Pod facts controllers share: active, ready, available (minReadySeconds), restarts."""

from __future__ import annotations

from datetime import datetime, timedelta

from litekube.client.base import JSON
from litekube.machinery.clock import parse_time


def is_pod_active(pod: JSON) -> bool:
    """Not Succeeded, not Failed, not being deleted (controller.IsPodActive)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not (pod.get("metadata") or {}).get("deletionTimestamp")


def ready_condition(pod: JSON) -> JSON | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def is_pod_ready(pod: JSON) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def is_pod_available(pod: JSON, min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least minReadySeconds (podutil.IsPodAvailable).

    Example: minReadySeconds 10 and Ready since 12:00:00 → available strictly after 12:00:10.
    """
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    cond = ready_condition(pod) or {}
    since = parse_time(cond.get("lastTransitionTime"))
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def restart_count(pod: JSON) -> int:
    """The largest container restart count (what upstream's ranking compares)."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def pod_key(pod: JSON) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
