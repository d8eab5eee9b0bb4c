from __future__ import annotations

from litekube.controllers.deployment import util


def rolling(replicas: int, surge: int | str, unavailable: int | str) -> dict:
    return {
        "metadata": {"name": "web", "generation": 1},
        "spec": {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
        },
    }


def rs(
    name: str, replicas: int, max_replicas: int | None = None, created: str = "2025-01-01T00:00:00Z"
) -> dict:
    ann = {util.MAX_REPLICAS: str(max_replicas)} if max_replicas is not None else {}
    return {
        "metadata": {"name": name, "uid": name, "annotations": ann, "creationTimestamp": created},
        "spec": {"replicas": replicas},
    }


def test_surge_rounds_up_unavailable_rounds_down() -> None:
    assert util.resolve_fenceposts("25%", "25%", 3) == (1, 0)
    assert util.resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert util.resolve_fenceposts(0, "10%", 3) == (0, 1)  # both zero → unavailable 1
    assert util.resolve_fenceposts(2, 1, 10) == (2, 1)
    assert util.max_unavailable(rolling(1, "25%", "100%")) == 1
    assert util.max_unavailable(rolling(0, 1, 1)) == 0
    recreate = {"metadata": {}, "spec": {"replicas": 3, "strategy": {"type": "Recreate"}}}
    assert util.max_surge(recreate) == 0 and util.max_unavailable(recreate) == 0


def test_defaults_are_upstreams() -> None:
    d = {"metadata": {}, "spec": {}}
    assert util.replicas_of(d) == 1
    assert util.progress_deadline(d) == 600
    assert util.revision_history_limit(d) == 10
    assert util.max_surge(d) == 1 and util.max_unavailable(d) == 0  # 25%/25% of 1
    assert util.progress_deadline({"spec": {"progressDeadlineSeconds": util.MAX_INT32}}) is None


def test_new_rs_replicas_within_surge() -> None:
    d = rolling(10, 3, 2)
    old, new = rs("old", 8), rs("new", 2)
    assert util.new_rs_new_replicas(d, [old, new], new) == 5
    assert util.new_rs_new_replicas(d, [rs("old", 13), new], new) == 2  # no room
    assert (
        util.new_rs_new_replicas(
            {"metadata": {}, "spec": {"replicas": 4, "strategy": {"type": "Recreate"}}}, [], new
        )
        == 4
    )


def test_max_scaled_down() -> None:
    d = rolling(10, 3, 2)
    new = rs("new", 5)
    new["status"] = {"availableReplicas": 3}
    assert util.max_scaled_down(d, [rs("old", 8), new], new) == 3


def test_proportions_follow_the_max_replicas_annotation() -> None:
    d = rolling(20, 3, 2)  # scaled from 10 (max 13) to 20 (max 23)
    a, b = rs("a", 7, 13), rs("b", 6, 13)
    assert util.replica_set_proportion(a, d, 10, 0) == 5
    assert util.replica_set_proportion(b, d, 10, 5) == 5
    assert util.replica_set_proportion(b, d, 10, 8) == 2  # capped by what is left
    down = rolling(0, 3, 2)
    assert util.replica_set_proportion(a, down, -13, 0) == -7


def test_pod_template_hash_is_stable_safe_and_ignores_empty_fields() -> None:
    t1 = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    t2 = {
        "metadata": {"labels": {"app": "web"}, "annotations": {}},
        "spec": {"containers": [{"image": "nginx", "name": "c"}]},
    }
    h1 = util.compute_hash(t1, None)
    assert h1 == util.compute_hash(t2, None)
    assert set(h1) <= set(util.SAFE_ALPHABET) and 1 <= len(h1) <= 10
    assert util.compute_hash(t1, 1) != h1
    assert util.safe_encode("1234") == "5678"  # bytes 49..52 mod 27 → letters 22..25
    assert util.fnv32a(b"") == 0x811C9DC5 and util.fnv32a(b"a") == 0xE40C292C


def test_equal_ignore_hash() -> None:
    a = {"metadata": {"labels": {"app": "web", "pod-template-hash": "x"}}, "spec": {"containers": []}}
    b = {"metadata": {"labels": {"app": "web"}, "creationTimestamp": None}, "spec": {}}
    assert util.equal_ignore_hash(a, b)
    assert not util.equal_ignore_hash(a, {"metadata": {"labels": {"app": "db"}}})


def test_rollback_annotations_keep_revision_history() -> None:
    d = {
        "metadata": {"annotations": {util.CHANGE_CAUSE: "undo", util.LAST_APPLIED: "{}"}},
        "spec": {"replicas": 3},
    }
    target = {"metadata": {"annotations": {util.REVISION: "1"}}}
    assert util.set_new_rs_annotations(d, target, 3, exists=True)
    ann = target["metadata"]["annotations"]
    assert ann[util.REVISION] == "3" and ann[util.REVISION_HISTORY] == "1"
    assert ann[util.CHANGE_CAUSE] == "undo" and util.LAST_APPLIED not in ann
    assert util.set_new_rs_annotations(d, target, 5, exists=True)
    assert ann[util.REVISION_HISTORY] == "1,3"
    assert not util.set_new_rs_annotations(d, target, 4, exists=True)  # never lowers


def test_condition_keeps_transition_time_when_status_unchanged() -> None:
    status: dict = {}
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    util.set_condition(status, util.new_condition("Progressing", "True", "A", "m", t0))
    util.set_condition(status, util.new_condition("Progressing", "True", "B", "m", t0 + timedelta(seconds=5)))
    [cond] = status["conditions"]
    assert cond["reason"] == "B" and cond["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert cond["lastUpdateTime"] == "2025-01-01T00:00:05Z"


def test_find_active_or_latest() -> None:
    old1 = rs("o1", 0, created="2025-01-01T00:00:00Z")
    old2 = rs("o2", 0, created="2025-01-01T00:00:01Z")
    assert util.find_active_or_latest(None, [old1, old2]) is old2  # none active: newest
    assert util.find_active_or_latest(rs("n", 3), [old1]) is not None
    assert util.find_active_or_latest(rs("n", 3), [rs("o", 1)]) is None  # two active
