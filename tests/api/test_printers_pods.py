"""Pod table: READY/STATUS/RESTARTS rules, wide columns, row conditions and row objects."""

from __future__ import annotations

import time
from typing import Any

import pytest

from litekube.api.printers import build_table
from tests.api.test_printers_support import NOW, ago, by_name, row, rt

PODS = rt("", "pods")


def pod(
    name: str = "web-1",
    *,
    phase: str = "Running",
    containers: int = 1,
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "creationTimestamp": ago(300),
            "labels": {"app": "web"},
        },
        "spec": {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]},
        "status": {"phase": phase},
    }
    if statuses is not None:
        obj["status"]["containerStatuses"] = statuses
    if init is not None:
        obj["spec"]["initContainers"] = init
    if init_statuses is not None:
        obj["status"]["initContainerStatuses"] = init_statuses
    if conditions is not None:
        obj["status"]["conditions"] = conditions
    for key, value in extra.items():
        obj["status"][key] = value
    return obj


def running(name: str = "c0", ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}, **extra}


def test_columns_match_upstream() -> None:
    table = build_table(PODS, [], now=NOW)
    columns = [(c["name"], c["type"], c["format"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Status", "string", "", 0),
        ("Restarts", "string", "", 0),
        ("Age", "string", "", 0),
        ("IP", "string", "", 1),
        ("Node", "string", "", 1),
        ("Nominated Node", "string", "", 1),
        ("Readiness Gates", "string", "", 1),
    ]
    descriptions = {c["name"]: c["description"] for c in table["columnDefinitions"]}
    assert descriptions["Ready"] == "The aggregate readiness state of this pod for accepting traffic."
    assert descriptions["Name"].startswith("Name must be unique within a namespace.")
    assert descriptions["IP"].startswith("podIP address allocated to the pod.")
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["rows"] == [] and table["metadata"] == {}


def test_running_pod_full_row() -> None:
    obj = pod(statuses=[running()], podIPs=[{"ip": "10.0.0.5"}], podIP="10.0.0.5")
    obj["spec"]["nodeName"] = "node-1"
    assert row(PODS, obj) == ["web-1", "1/1", "Running", "0", "5m", "10.0.0.5", "node-1", "<none>", "<none>"]


def test_pending_pod_without_statuses() -> None:
    assert row(PODS, pod(phase="Pending", containers=2))[:5] == ["web-1", "0/2", "Pending", "0", "5m"]


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ({"waiting": {"reason": "ContainerCreating"}}, "ContainerCreating"),
        ({"waiting": {"reason": "CrashLoopBackOff"}}, "CrashLoopBackOff"),
        ({"waiting": {"reason": "ImagePullBackOff"}}, "ImagePullBackOff"),
        ({"terminated": {"exitCode": 1, "reason": "Error"}}, "Error"),
        ({"terminated": {"exitCode": 137}}, "ExitCode:137"),
        ({"terminated": {"exitCode": 0, "signal": 9}}, "Signal:9"),
    ],
)
def test_container_state_overrides_phase(state: dict[str, Any], status: str) -> None:
    obj = pod(statuses=[{"name": "c0", "ready": False, "restartCount": 0, "state": state}])
    assert by_name(PODS, obj)["Status"] == status


def test_restarts_with_last_termination_age() -> None:
    status = running(restarts=3, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(125)}})
    assert by_name(PODS, pod(statuses=[status]))["Restarts"] == "3 (2m5s ago)"


def test_crash_loop_pod() -> None:
    status = {
        "name": "c0",
        "ready": False,
        "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(30)}},
    }
    assert row(PODS, pod(statuses=[status]))[1:4] == ["0/1", "CrashLoopBackOff", "5 (30s ago)"]


def test_completed_pod_has_condition() -> None:
    status = {
        "name": "c0",
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
    }
    table = build_table(PODS, [pod(phase="Succeeded", statuses=[status])], now=NOW)
    assert table["rows"][0]["cells"][1:3] == ["0/1", "Completed"]
    assert table["rows"][0]["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    failed = build_table(PODS, [pod(phase="Failed")], now=NOW)["rows"][0]
    assert failed["conditions"][0]["reason"] == "Failed"
    assert "conditions" not in build_table(PODS, [pod()], now=NOW)["rows"][0]


def test_completed_container_with_running_sibling() -> None:
    done = {
        "name": "c1",
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
    }
    ready = [{"type": "Ready", "status": "True"}]
    # the last container decides "Completed", the running one turns it back
    assert (
        by_name(PODS, pod(containers=2, statuses=[running(), done], conditions=ready))["Status"] == "Running"
    )
    assert by_name(PODS, pod(containers=2, statuses=[running(), done]))["Status"] == "NotReady"


def test_init_containers() -> None:
    init = [{"name": "i0", "image": "busybox"}, {"name": "i1", "image": "busybox"}]
    waiting = {"name": "i0", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
    pending = pod(phase="Pending", init=init, init_statuses=[waiting])
    assert by_name(PODS, pending)["Status"] == "Init:0/2"
    finished = {"name": "i0", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}
    running_init = {"name": "i1", "restartCount": 0, "state": {"running": {}}}
    assert (
        by_name(PODS, pod(phase="Pending", init=init, init_statuses=[finished, running_init]))["Status"]
        == "Init:1/2"
    )
    failed = {"name": "i0", "restartCount": 2, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    assert row(PODS, pod(phase="Pending", init=init, init_statuses=[failed]))[2:4] == ["Init:Error", "2"]
    crash = {"name": "i0", "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    assert (
        by_name(PODS, pod(phase="Pending", init=init, init_statuses=[crash]))["Status"]
        == "Init:CrashLoopBackOff"
    )
    code = {"name": "i0", "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}
    assert by_name(PODS, pod(phase="Pending", init=init, init_statuses=[code]))["Status"] == "Init:ExitCode:3"


def test_sidecar_counts_in_ready_and_restarts() -> None:
    init = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    sidecar = {"name": "proxy", "ready": True, "started": True, "restartCount": 1, "state": {"running": {}}}
    obj = pod(init=init, init_statuses=[sidecar], statuses=[running(restarts=2)])
    assert row(PODS, obj)[1:4] == ["2/2", "Running", "3"]


def test_terminating_and_unknown() -> None:
    obj = pod(statuses=[running()])
    obj["metadata"]["deletionTimestamp"] = ago(1)
    assert by_name(PODS, obj)["Status"] == "Terminating"
    obj["status"]["reason"] = "NodeLost"
    assert by_name(PODS, obj)["Status"] == "Unknown"
    done = pod(phase="Succeeded")
    done["metadata"]["deletionTimestamp"] = ago(1)
    assert by_name(PODS, done)["Status"] == "Succeeded"


def test_scheduling_gated_and_readiness_gates() -> None:
    obj = pod(
        phase="Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    )
    assert by_name(PODS, obj)["Status"] == "SchedulingGated"
    gated = pod(statuses=[running()], conditions=[{"type": "example.com/lb", "status": "True"}])
    gated["spec"]["readinessGates"] = [
        {"conditionType": "example.com/lb"},
        {"conditionType": "example.com/dns"},
    ]
    gated["status"]["nominatedNodeName"] = "node-2"
    cells = by_name(PODS, gated)
    assert cells["Readiness Gates"] == "1/2" and cells["Nominated Node"] == "node-2"


def test_evicted_pod_reason() -> None:
    assert by_name(PODS, pod(phase="Failed", reason="Evicted"))["Status"] == "Evicted"


def test_row_objects_and_list_metadata() -> None:
    obj = pod()
    meta = build_table(PODS, [obj], resource_version="42", continue_token="abc", now=NOW)
    assert meta["metadata"] == {"resourceVersion": "42", "continue": "abc"}
    assert meta["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }
    full = build_table(PODS, [obj], include_object="Object", now=NOW)["rows"][0]["object"]
    assert full is obj
    bare = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind")}
    added = build_table(PODS, [bare], include_object="Object", now=NOW)["rows"][0]["object"]
    assert added["apiVersion"] == "v1" and added["kind"] == "Pod" and added["spec"] == obj["spec"]
    assert "object" not in build_table(PODS, [obj], include_object="None", now=NOW)["rows"][0]


def test_missing_creation_timestamp_is_unknown_age() -> None:
    obj = pod()
    del obj["metadata"]["creationTimestamp"]
    assert by_name(PODS, obj)["Age"] == "<unknown>"


def test_five_thousand_pods_are_fast() -> None:
    objects = []
    for i in range(5000):
        status = running(restarts=i % 3, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(60)}})
        objects.append(pod(f"web-{i}", statuses=[status], podIPs=[{"ip": f"10.0.{i // 250}.{i % 250}"}]))
    build_table(PODS, objects[:10], now=NOW)  # warm the column cache
    elapsed = float("inf")
    for _ in range(3):  # best of three: other work on a shared machine adds noise
        started = time.perf_counter()
        table = build_table(PODS, objects, now=NOW)
        elapsed = min(elapsed, time.perf_counter() - started)
    assert len(table["rows"]) == 5000
    assert table["rows"][4]["cells"][3] == "1 (60s ago)"
    assert elapsed < 0.1, f"5,000 pods took {elapsed * 1000:.0f} ms"
