from __future__ import annotations

from datetime import UTC, datetime

from litekube.client.base import JSON
from litekube.controllers.replicaset.ranking import DELETION_COST, rank_pods_for_deletion

NOW = datetime(2025, 1, 1, 1, 0, 0, tzinfo=UTC)


def pod(
    name: str,
    node: str = "n1",
    phase: str = "Running",
    ready: bool = True,
    restarts: int = 0,
    created: str = "2025-01-01T00:00:00Z",
    ready_since: str = "2025-01-01T00:00:00Z",
    cost: int | None = None,
) -> JSON:
    meta: JSON = {"name": name, "uid": name, "creationTimestamp": created}
    if cost is not None:
        meta["annotations"] = {DELETION_COST: str(cost)}
    return {
        "metadata": meta,
        "spec": {"nodeName": node},
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_since}
            ],
            "containerStatuses": [{"name": "c", "restartCount": restarts}],
        },
    }


def order(*pods: JSON, related: list[JSON] | None = None) -> list[str]:
    return [p["metadata"]["name"] for p in rank_pods_for_deletion(list(pods), related or [], NOW)]


def test_unscheduled_then_pending_then_not_ready_first() -> None:
    assert order(pod("running"), pod("unscheduled", node="")) == ["unscheduled", "running"]
    assert order(pod("running"), pod("pending", phase="Pending")) == ["pending", "running"]
    assert order(pod("ready"), pod("unready", ready=False)) == ["unready", "ready"]


def test_deletion_cost_then_doubled_up_nodes() -> None:
    assert order(pod("dear", cost=10), pod("cheap", cost=-5)) == ["cheap", "dear"]
    crowded = [pod("x1", node="busy"), pod("x2", node="busy"), pod("y1", node="quiet")]
    assert order(pod("quiet-one", node="quiet"), pod("busy-one", node="busy"), related=crowded) == [
        "busy-one",
        "quiet-one",
    ]


def test_recently_ready_then_restarts_then_newer_first() -> None:
    # ready 1 minute ago vs 59 minutes ago: different log2 buckets, the recent one goes first
    assert order(pod("old-ready"), pod("new-ready", ready_since="2025-01-01T00:59:00Z")) == [
        "new-ready",
        "old-ready",
    ]
    assert order(pod("calm"), pod("crashy", restarts=4)) == ["crashy", "calm"]
    assert order(pod("old"), pod("new", created="2025-01-01T00:59:00Z")) == ["new", "old"]
    # 10 s and 12 s old fall in the same log2 bucket: the uid decides
    a = pod("b-pod", created="2025-01-01T00:59:50Z")
    b = pod("a-pod", created="2025-01-01T00:59:48Z")
    assert order(a, b) == ["a-pod", "b-pod"]
