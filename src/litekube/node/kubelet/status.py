"""Pod status from what the pod worker knows: pure functions, golden-tested.

The pod worker describes each container as a `ContainerView` (its k8s `state` and
`lastState` dicts already built with `running_state` / `waiting_state` /
`terminated_state`) and calls `pod_status(...)`, which adds what upstream's
`generateAPIPodStatus` adds:

- phase (`pod_phase`, upstream's getPhase): Pending while regular init containers have not
  all succeeded (Failed when one failed under restartPolicy Never); then from the app
  containers: any waiting-for-the-first-time → Pending; any running → Running; all stopped →
  Succeeded when all exited 0, else Failed (Never) or Running (it will restart);
- conditions PodReadyToStartContainers, Initialized, ContainersReady, Ready, PodScheduled,
  each keeping its `lastTransitionTime` from the previous status while its status is the
  same (so an unchanged pod writes nothing);
- hostIP(s), podIP(s), startTime (kept once set), qosClass, and the container statuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litekube.machinery.clock import rfc3339
from litekube.node.kubelet.resources import qos_class

JSON = dict[str, Any]


@dataclass
class ContainerView:
    name: str
    image: str  # normalised image name (docker.io/library/nginx:1.21) or the spec's text
    image_id: str = ""  # repo@digest once pulled
    container_id: str = ""  # "runc://<id>" once created
    state: JSON = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: JSON = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    restart_count: int = 0
    # restartable init container ("native sidecar")
    sidecar: bool = False


def running_state(started_at: datetime | None) -> JSON:
    return {"running": {"startedAt": rfc3339(started_at) if started_at else None}}


def waiting_state(reason: str, message: str = "") -> JSON:
    waiting: JSON = {"reason": reason}
    if message:
        waiting["message"] = message
    return {"waiting": waiting}


def terminated_state(
    exit_code: int,
    reason: str,
    started_at: datetime | None,
    finished_at: datetime | None,
    container_id: str = "",
    message: str = "",
    signal: int | None = None,
) -> JSON:
    terminated: JSON = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": rfc3339(started_at) if started_at else None,
        "finishedAt": rfc3339(finished_at) if finished_at else None,
    }
    if message:
        terminated["message"] = message
    if signal:
        terminated["signal"] = signal
    if container_id:
        terminated["containerID"] = container_id
    return {"terminated": terminated}


def container_status(view: ContainerView) -> JSON:
    status: JSON = {
        "name": view.name,
        "state": view.state,
        "lastState": view.last_state,
        "ready": view.ready,
        "restartCount": view.restart_count,
        "image": view.image,
        "imageID": view.image_id,
        "started": view.started,
    }
    if view.container_id:
        status["containerID"] = view.container_id
    return status


def _succeeded(view: ContainerView) -> bool:
    return int((view.state.get("terminated") or {}).get("exitCode", -1)) == 0


def pod_phase(pod: JSON, init: list[ContainerView], main: list[ContainerView]) -> str:
    restart_policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    for view in init:
        if view.sidecar:
            continue
        terminated = view.state.get("terminated")
        if terminated and terminated.get("exitCode") == 0:
            continue
        failed = terminated is not None or bool(view.last_state.get("terminated") or {})
        if failed and restart_policy == "Never":
            return "Failed"
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for view in main:
        if "running" in view.state:
            running += 1
        elif "terminated" in view.state:
            stopped += 1
            succeeded += _succeeded(view)
        elif view.last_state.get("terminated"):
            stopped += 1  # waiting to restart after a run: counts as stopped, as upstream
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded and all("terminated" in v.state for v in main):
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        # OnFailure: the failed ones restart; the pod is done only when all succeeded.
        return "Running"
    return "Pending"


def _condition(type_: str, status: bool, reason: str = "", message: str = "") -> JSON:
    condition: JSON = {"type": type_, "status": "True" if status else "False"}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _names(views: list[ContainerView]) -> str:
    return "[" + " ".join(v.name for v in views) + "]"


def pod_conditions(
    pod: JSON, phase: str, init: list[ContainerView], main: list[ContainerView], sandbox_ready: bool
) -> list[JSON]:
    completed = phase in ("Succeeded", "Failed")
    conditions = [_condition("PodReadyToStartContainers", sandbox_ready and not completed)]
    incomplete = [
        v
        for v in init
        if (v.sidecar and not v.started)
        or (not v.sidecar and (v.state.get("terminated") or {}).get("exitCode") != 0)
    ]
    if completed and phase == "Succeeded":
        incomplete = []
    if incomplete:
        conditions.append(
            _condition(
                "Initialized",
                False,
                "ContainersNotInitialized",
                f"containers with incomplete status: {_names(incomplete)}",
            )
        )
    else:
        conditions.append(_condition("Initialized", True))
    unready = [v for v in [*[i for i in init if i.sidecar], *main] if not v.ready]
    if completed:
        conditions.append(_condition("ContainersReady", False, "PodCompleted"))
        conditions.append(_condition("Ready", False, "PodCompleted"))
    elif unready:
        message = f"containers with unready status: {_names(unready)}"
        conditions.append(_condition("ContainersReady", False, "ContainersNotReady", message))
        conditions.append(_condition("Ready", False, "ContainersNotReady", message))
    else:
        conditions.append(_condition("ContainersReady", True))
        conditions.append(_condition("Ready", True))
    conditions.append(_condition("PodScheduled", True))
    return conditions


def _keep_transitions(conditions: list[JSON], old: list[JSON], now: str) -> list[JSON]:
    previous = {c.get("type"): c for c in old}
    for condition in conditions:
        before = previous.get(condition["type"])
        if before is not None and before.get("status") == condition["status"]:
            condition["lastTransitionTime"] = before.get("lastTransitionTime") or now
        else:
            condition["lastTransitionTime"] = now
        condition["lastProbeTime"] = None
    # Conditions we do not own (readiness gates' types, DisruptionTarget...) stay as they are.
    ours = {c["type"] for c in conditions}
    return conditions + [c for c in old if c.get("type") not in ours]


def pod_status(
    pod: JSON,
    init: list[ContainerView],
    main: list[ContainerView],
    *,
    now: datetime,
    host_ip: str,
    pod_ip: str,
    sandbox_ready: bool,
    phase: str | None = None,
    reason: str = "",
    message: str = "",
) -> JSON:
    """The whole `status` for `pod`; `phase` overrides the computed one (admission failures)."""
    old = pod.get("status") or {}
    stamp = rfc3339(now)
    computed = phase or pod_phase(pod, init, main)
    conditions = pod_conditions(pod, computed, init, main, sandbox_ready)
    if phase == "Failed" and not init and not main:
        conditions = []
    status: JSON = {
        "phase": computed,
        "conditions": _keep_transitions(conditions, list(old.get("conditions") or []), stamp),
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": old.get("startTime") or stamp,
        "qosClass": qos_class(pod),
    }
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    if init:
        status["initContainerStatuses"] = [container_status(v) for v in init]
    if main:
        status["containerStatuses"] = [container_status(v) for v in main]
    return status


def status_changed(old: JSON, new: JSON) -> bool:
    return old != new
