from __future__ import annotations

from datetime import UTC, datetime

from litekube.node.kubelet.resources import qos_class
from litekube.node.kubelet.status import (
    ContainerView,
    pod_phase,
    pod_status,
    running_state,
    terminated_state,
    waiting_state,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T1 = datetime(2025, 1, 1, 0, 5, tzinfo=UTC)


def pod(restart: str = "Always", containers: int = 1) -> dict:
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": {"restartPolicy": restart, "containers": [{"name": f"c{i}"} for i in range(containers)]},
        "status": {"phase": "Pending"},
    }


def test_running_ready_pod_golden() -> None:
    view = ContainerView(
        name="c0",
        image="docker.io/library/nginx:1.21",
        image_id="docker.io/library/nginx@sha256:abc",
        container_id="runc://litekube-1",
        state=running_state(T0),
        ready=True,
        started=True,
    )
    status = pod_status(
        pod(), [], [view], now=T0, host_ip="192.168.1.10", pod_ip="10.244.0.2", sandbox_ready=True
    )
    assert status == {
        "phase": "Running",
        "conditions": [
            {
                "type": "PodReadyToStartContainers",
                "status": "True",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "lastProbeTime": None,
            },
            {
                "type": "Initialized",
                "status": "True",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "lastProbeTime": None,
            },
            {
                "type": "ContainersReady",
                "status": "True",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "lastProbeTime": None,
            },
            {
                "type": "Ready",
                "status": "True",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "lastProbeTime": None,
            },
            {
                "type": "PodScheduled",
                "status": "True",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "lastProbeTime": None,
            },
        ],
        "hostIP": "192.168.1.10",
        "hostIPs": [{"ip": "192.168.1.10"}],
        "podIP": "10.244.0.2",
        "podIPs": [{"ip": "10.244.0.2"}],
        "startTime": "2025-01-01T00:00:00Z",
        "qosClass": "BestEffort",
        "containerStatuses": [
            {
                "name": "c0",
                "state": {"running": {"startedAt": "2025-01-01T00:00:00Z"}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": "docker.io/library/nginx:1.21",
                "imageID": "docker.io/library/nginx@sha256:abc",
                "started": True,
                "containerID": "runc://litekube-1",
            }
        ],
    }


def test_transition_times_survive_when_unchanged() -> None:
    p = pod()
    ready = ContainerView(name="c0", image="x", state=running_state(T0), ready=True, started=True)
    p["status"] = pod_status(p, [], [ready], now=T0, host_ip="h", pod_ip="i", sandbox_ready=True)
    again = pod_status(p, [], [ready], now=T1, host_ip="h", pod_ip="i", sandbox_ready=True)
    assert again == p["status"]
    unready = ContainerView(name="c0", image="x", state=running_state(T0), ready=False, started=True)
    changed = pod_status(p, [], [unready], now=T1, host_ip="h", pod_ip="i", sandbox_ready=True)
    by_type = {c["type"]: c for c in changed["conditions"]}
    assert by_type["Ready"] == {
        "type": "Ready",
        "status": "False",
        "reason": "ContainersNotReady",
        "message": "containers with unready status: [c0]",
        "lastTransitionTime": "2025-01-01T00:05:00Z",
        "lastProbeTime": None,
    }
    assert by_type["Initialized"]["lastTransitionTime"] == "2025-01-01T00:00:00Z"


def exited(code: int) -> ContainerView:
    return ContainerView(
        name="c", image="x", state=terminated_state(code, "Error" if code else "Completed", T0, T1)
    )


def test_phases() -> None:
    assert pod_phase(pod("Never"), [], [exited(0)]) == "Succeeded"
    assert pod_phase(pod("Never"), [], [exited(1)]) == "Failed"
    assert pod_phase(pod("OnFailure"), [], [exited(1)]) == "Running"
    assert pod_phase(pod("OnFailure"), [], [exited(0)]) == "Succeeded"
    assert pod_phase(pod("Always"), [], [exited(0)]) == "Running"
    assert pod_phase(pod(), [], [ContainerView(name="c", image="x")]) == "Pending"
    crash = ContainerView(
        name="c", image="x", state=waiting_state("CrashLoopBackOff", "back-off"), last_state=exited(1).state
    )
    assert pod_phase(pod(), [], [crash]) == "Running"


def test_init_containers_gate_the_phase() -> None:
    pending_init = ContainerView(name="init", image="x", state=running_state(T0))
    assert pod_phase(pod(), [pending_init], [ContainerView(name="c", image="x")]) == "Pending"
    assert pod_phase(pod("Never"), [exited(1)], [ContainerView(name="c", image="x")]) == "Failed"
    status = pod_status(
        pod(),
        [pending_init],
        [ContainerView(name="c0", image="x")],
        now=T0,
        host_ip="h",
        pod_ip="",
        sandbox_ready=True,
    )
    initialized = next(c for c in status["conditions"] if c["type"] == "Initialized")
    assert initialized["reason"] == "ContainersNotInitialized"
    assert initialized["message"] == "containers with incomplete status: [init]"
    assert "podIP" not in status


def test_qos_classes() -> None:
    def with_resources(resources: dict) -> dict:
        return {"spec": {"containers": [{"name": "c", "resources": resources}]}}

    both = {"cpu": "100m", "memory": "128Mi"}
    assert qos_class(with_resources({})) == "BestEffort"
    assert qos_class(with_resources({"limits": both, "requests": both})) == "Guaranteed"
    assert qos_class(with_resources({"requests": both})) == "Burstable"
    seed01 = {"requests": {"memory": "128Mi", "cpu": "100m"}, "limits": {"memory": "256Mi", "cpu": "200m"}}
    assert qos_class(with_resources(seed01)) == "Burstable"
