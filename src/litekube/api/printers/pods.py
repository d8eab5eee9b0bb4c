"""The pod table: READY, STATUS and RESTARTS as `kubectl get pods` shows them.

The STATUS cell is a small state machine over the pod, in upstream's order:
1. start from `status.reason`, else the phase; a `SchedulingGated` PodScheduled condition wins;
2. walk init containers in order: a finished one (exit 0) or a started sidecar
   (restartPolicy Always) is skipped; the first other one decides `Init:<reason>`,
   `Init:ExitCode:N`, `Init:Signal:N` or `Init:i/n` and stops the walk;
3. unless initialising, walk the app containers from last to first: a waiting reason or a
   terminated reason/`Signal:N`/`ExitCode:N` overrides; a ready running container counts
   towards READY; a `Completed` pod with a running container reads `Running` (if the pod is
   Ready) or `NotReady`, or the error of a failed container;
4. a deleted pod is `Terminating` (or `Unknown` when its node is unreachable).
RESTARTS sums restart counts (sidecars always, init containers only while initialising) and
appends "(5m ago)" from the newest `lastState.terminated.finishedAt`.
"""

from __future__ import annotations

from typing import Any

from litekube.api.printers.columns import CORE, Column, age_column, name_column
from litekube.api.printers.duration import human_duration, parse_timestamp, translate_timestamp_since

COLUMNS = (
    name_column(),
    Column("Ready", text="The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", text="The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        text="The number of times the containers in this pod have been restarted and when the last "
        "container in this pod has restarted.",
    ),
    age_column(),
    Column("IP", priority=1, doc=(CORE + "PodStatus", "podIP")),
    Column("Node", priority=1, doc=(CORE + "PodSpec", "nodeName")),
    Column("Nominated Node", priority=1, doc=(CORE + "PodStatus", "nominatedNodeName")),
    Column("Readiness Gates", priority=1, doc=(CORE + "PodSpec", "readinessGates")),
)

_SUCCEEDED = [
    {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    }
]
_FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
_NODE_UNREACHABLE_REASON = "NodeLost"


def conditions(pod: dict[str, Any]) -> list[dict[str, str]] | None:
    """Row conditions: a Completed marker for pods in a terminal phase (kubectl greys them out)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return _SUCCEEDED
    if phase == "Failed":
        return _FAILED
    return None


def _condition_true(status: dict[str, Any], kind: str) -> bool:
    for condition in status.get("conditions") or ():
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def _terminated_reason(terminated: dict[str, Any]) -> str:
    if terminated.get("reason"):
        return str(terminated["reason"])
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode', 0)}"


def cells(pod: dict[str, Any], now: float) -> list[Any]:
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    init_specs = spec.get("initContainers") or ()
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or ()) + len(sidecars)
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None

    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for index, container in enumerate(status.get("initContainerStatuses") or ()):
        count = int(container.get("restartCount") or 0)
        finished = parse_timestamp(
            ((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        )
        restarts += count
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished
        is_sidecar = container.get("name") in sidecars
        if is_sidecar:
            sidecar_restarts += count
            if finished is not None and (last_sidecar_restart is None or finished > last_sidecar_restart):
                last_sidecar_restart = finished
        state = container.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and container.get("started"):
            if container.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            reason = "Init:" + _terminated_reason(terminated)
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        error_reason = ""
        for container in reversed(status.get("containerStatuses") or ()):
            restarts += int(container.get("restartCount") or 0)
            finished = parse_timestamp(
                ((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            )
            if finished is not None and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = container.get("state") or {}
            waiting = state.get("waiting")
            terminated = state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated is not None:
                reason = _terminated_reason(terminated)
                if int(terminated.get("exitCode") or 0) != 0:
                    error_reason = reason
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed":
            if has_running and _condition_true(status, "Ready"):
                reason = "Running"
            elif error_reason:
                reason = error_reason
            elif has_running:
                reason = "NotReady"

    if metadata.get("deletionTimestamp"):
        if status.get("reason") == _NODE_UNREACHABLE_REASON:
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"

    pod_ips = status.get("podIPs") or ()
    pod_ip = (pod_ips[0].get("ip") if pod_ips else "") or "<none>"
    gates = spec.get("readinessGates") or ()
    readiness = "<none>"
    if gates:
        by_type: dict[str, str] = {}
        for condition in status.get("conditions") or ():
            by_type.setdefault(condition.get("type"), condition.get("status"))
        true_count = len([gate for gate in gates if by_type.get(gate.get("conditionType")) == "True"])
        readiness = f"{true_count}/{len(gates)}"
    return [
        metadata.get("name", ""),
        f"{ready}/{total}",
        reason,
        restarts_text,
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
        pod_ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        readiness,
    ]
