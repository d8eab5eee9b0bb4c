"""Pod-failure backoff for Jobs: how long to wait before replacing a failed pod.

Upstream's delay is 10 s doubled per consecutive failure, capped at 6 minutes:
failures 1, 2, 3, 4, 5, 6, 7 wait 10 s, 20 s, 40 s, 80 s, 160 s, 320 s, 360 s (cap).
The wait runs from the moment the newest failed pod finished.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from litekube.client.base import JSON
from litekube.machinery.clock import parse_time

BASE_DELAY = 10.0
MAX_DELAY = 360.0


def backoff_delay(failures: int, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    if failures <= 0:
        return 0.0
    return min(base * 2 ** min(failures - 1, 30), cap)


def finish_time(pod: JSON) -> datetime | None:
    """When the pod's last container terminated (or its deletion began)."""
    latest: datetime | None = None
    status = pod.get("status") or {}
    for c in [*(status.get("containerStatuses") or ()), *(status.get("initContainerStatuses") or ())]:
        stamp = parse_time(((c.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if stamp and (latest is None or stamp > latest):
            latest = stamp
    if latest is None:
        latest = parse_time((pod.get("metadata") or {}).get("deletionTimestamp"))
    if latest is None:
        for cond in status.get("conditions") or ():
            stamp = parse_time(cond.get("lastTransitionTime"))
            if stamp and (latest is None or stamp > latest):
                latest = stamp
    return latest


def remaining_backoff(failed_pods: list[JSON], failures: int, now: datetime) -> float:
    """Seconds still to wait before creating a replacement (0 = go ahead)."""
    if failures <= 0 or not failed_pods:
        return 0.0
    times = [t for t in (finish_time(p) for p in failed_pods) if t is not None]
    if not times:
        return 0.0
    due = max(times) + timedelta(seconds=backoff_delay(failures))
    return max(0.0, (due - now).total_seconds())
