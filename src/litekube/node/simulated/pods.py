"""The simulated kubelet's pod loop: bound pods run, finish and go away without processes.

`SimulatedPodWorker.sync(pod key)` looks at one pod bound to one of our nodes:
- being deleted → DELETE it with gracePeriodSeconds=0 (nothing to stop), uid precondition;
- not yet running → write a Running, Ready status (IPs from the node's /24, container
  statuses with `litekube-sim://` ids);
- running, and meant to finish (restartPolicy Never/OnFailure, e.g. Job pods) → after
  `completion_delay` seconds from its start, Succeeded with exit code 0 / reason Completed;
  the annotation `sim.litekube.io/exit-code: "N"` makes it fail with N instead (with
  OnFailure the container "restarts": restartCount grows and it runs again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from litekube.api.patch import deep_copy
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.machinery.clock import Clock, parse_time, rfc3339
from litekube.machinery.controller import Controller, RequeueAfter
from litekube.machinery.informer import InformerFactory
from litekube.node.simulated.status import (
    EXIT_CODE_ANNOTATION,
    finished_status,
    node_ip,
    pod_cidr_prefix,
    running_status,
)

if TYPE_CHECKING:
    from litekube.node.simulated.nodes import SimulatedNodes

_PODS = lookup("", "v1", "pods")
assert _PODS is not None
PODS: ResourceType = _PODS


class SimulatedPodWorker(Controller):
    name = "simulated-kubelet"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        nodes: SimulatedNodes,
        completion_delay: float = 1.0,
        workers: int = 16,
    ) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.sim = nodes
        self.completion_delay = completion_delay
        self.pods = informers.informer(PODS)
        self.pods.add_handlers(self._maybe_enqueue, lambda old, new: self._maybe_enqueue(new), None)
        self._ips: dict[str, dict[str, int]] = {}  # node -> pod uid -> host octet

    def _maybe_enqueue(self, pod: JSON) -> None:
        if (pod.get("spec") or {}).get("nodeName") in self.sim.nodes:
            self.enqueue(pod)

    def _pod_ip(self, node: str, uid: str) -> str:
        index = self.sim.nodes[node]
        used = self._ips.setdefault(node, {})
        if uid not in used:
            taken = set(used.values())
            used[uid] = next((o for o in range(2, 255) if o not in taken), 254)
        return f"{pod_cidr_prefix(index)}.{used[uid]}"

    def _release_ip(self, node: str, uid: str) -> None:
        self._ips.get(node, {}).pop(uid, None)

    async def sync(self, key: str) -> None:
        pod = self.pods.store.get(key)
        if pod is None:
            return
        meta = pod["metadata"]
        node = (pod.get("spec") or {}).get("nodeName")
        if node not in self.sim.nodes or node in self.sim.silenced:
            return
        status = pod.get("status") or {}
        phase = status.get("phase")
        if meta.get("deletionTimestamp"):
            self._release_ip(node, meta.get("uid", ""))
            try:
                await self.client.delete(
                    PODS,
                    meta["name"],
                    meta.get("namespace"),
                    grace_period_seconds=0,
                    preconditions={"uid": meta["uid"]},
                )
            except ApiError as e:
                if not (e.not_found or e.conflict):
                    raise
            return
        if phase in ("Succeeded", "Failed"):
            self._release_ip(node, meta.get("uid", ""))
            return
        if phase != "Running":
            ip = self._pod_ip(node, meta.get("uid", ""))
            await self._write(pod, running_status(pod, node_ip(self.sim.nodes[node]), ip, self.clock.now()))
            if _finishes(pod):
                raise RequeueAfter(self.completion_delay)
            return
        if not _finishes(pod):
            return
        started = parse_time(status.get("startTime")) or self.clock.now()
        restarted = _last_restart(status) or started
        due = restarted + timedelta(seconds=self.completion_delay)
        remaining = (due - self.clock.now()).total_seconds()
        if remaining > 0:
            raise RequeueAfter(remaining)
        exit_code = _exit_code(pod)
        restart_policy = (pod.get("spec") or {}).get("restartPolicy")
        if exit_code != 0 and restart_policy == "OnFailure":
            await self._write(pod, _restarted(status, exit_code, self.clock))
            raise RequeueAfter(self.completion_delay)
        await self._write(pod, finished_status(pod, exit_code, self.clock.now()))

    async def _write(self, pod: JSON, status: JSON) -> None:
        body = deep_copy(pod)
        body["status"] = status
        try:
            await self.client.update_status(PODS, body)
        except ApiError as e:
            if not e.not_found:
                raise


def _finishes(pod: JSON) -> bool:
    spec = pod.get("spec") or {}
    if spec.get("restartPolicy") in ("Never", "OnFailure"):
        return True
    return any(ref.get("kind") == "Job" for ref in (pod.get("metadata") or {}).get("ownerReferences") or ())


def _exit_code(pod: JSON) -> int:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(EXIT_CODE_ANNOTATION)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 1


def _last_restart(status: JSON) -> datetime | None:
    for c in status.get("containerStatuses") or ():
        started = ((c.get("state") or {}).get("running") or {}).get("startedAt")
        if started and c.get("restartCount"):
            return parse_time(started)
    return None


def _restarted(status: JSON, exit_code: int, clock: Clock) -> JSON:
    stamp = rfc3339(clock.now())
    new = deep_copy(status)
    for c in new.get("containerStatuses") or ():
        started = ((c.get("state") or {}).get("running") or {}).get("startedAt", stamp)
        c["lastState"] = {
            "terminated": {
                "exitCode": exit_code,
                "reason": "Error",
                "startedAt": started,
                "finishedAt": stamp,
                "containerID": c.get("containerID", ""),
            }
        }
        c["state"] = {"running": {"startedAt": stamp}}
        c["restartCount"] = int(c.get("restartCount") or 0) + 1
    return new
