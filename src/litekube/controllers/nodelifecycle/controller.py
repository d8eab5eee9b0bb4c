"""Node lifecycle: a node whose heartbeats stop becomes Ready=Unknown, then loses its pods.

`sync(node name)` looks at the later of the node's Lease renewTime and its Ready
condition's lastHeartbeatTime. Silent for longer than `grace_period` (40 s) → every
condition the kubelet posts becomes Unknown (reason NodeStatusUnknown, "Kubelet stopped
posting node status.") and the node gets the `node.kubernetes.io/unreachable` taints
(NoSchedule and NoExecute, with timeAdded). Pods on it are deleted once they have been on
an unreachable node longer than their toleration of that taint (default `eviction_timeout`
300 s, what the DefaultTolerationSeconds admission plugin adds). A node heard from again
loses the taints. Each sync requeues itself for the next deadline (the injectable clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from litekube.api.patch import deep_copy
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.machinery.clock import Clock, parse_time, rfc3339
from litekube.machinery.controller import Controller, RequeueAfter
from litekube.machinery.events import NORMAL, EventRecorder
from litekube.machinery.informer import InformerFactory


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


NODES = _rt("", "v1", "nodes")
PODS = _rt("", "v1", "pods")
LEASES = _rt("coordination.k8s.io", "v1", "leases")
UNREACHABLE = "node.kubernetes.io/unreachable"
MONITOR_PERIOD = 5.0


class NodeLifecycleController(Controller):
    name = "node-lifecycle-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        recorder: EventRecorder | None = None,
        grace_period: float = 40.0,
        eviction_timeout: float = 300.0,
    ) -> None:
        super().__init__(clock, workers=1)
        self.client = client
        self.recorder = recorder or EventRecorder(client, "node-controller", clock)
        self.grace_period = grace_period
        self.eviction_timeout = eviction_timeout
        self.nodes = informers.informer(NODES)
        self.leases = informers.informer(LEASES)
        self.pods = informers.informer(PODS)
        self.nodes.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), None)
        self.leases.add_handlers(self._lease, lambda old, new: self._lease(new), None)

    def _lease(self, lease: JSON) -> None:
        if lease["metadata"].get("namespace") == "kube-node-lease":
            self.queue.add(lease["metadata"]["name"])

    def _last_heard(self, node: JSON) -> datetime | None:
        times = [parse_time(node["metadata"].get("creationTimestamp"))]
        lease = self.leases.store.get_by_name("kube-node-lease", node["metadata"]["name"])
        if lease is not None:
            times.append(parse_time((lease.get("spec") or {}).get("renewTime")))
        for cond in (node.get("status") or {}).get("conditions") or ():
            if cond.get("type") == "Ready":
                times.append(parse_time(cond.get("lastHeartbeatTime")))
        known = [t for t in times if t is not None]
        return max(known) if known else None

    async def sync(self, key: str) -> None:
        node = self.nodes.store.get(key)
        if node is None:
            return
        now = self.clock.now()
        heard = self._last_heard(node) or now
        silent = (now - heard).total_seconds()
        taints = list((node.get("spec") or {}).get("taints") or [])
        tainted = [t for t in taints if t.get("key") == UNREACHABLE]
        if silent <= self.grace_period:
            if tainted:
                await self._set_taints(node, [t for t in taints if t.get("key") != UNREACHABLE])
            raise RequeueAfter(self.grace_period - silent + MONITOR_PERIOD)
        if not tainted:
            await self._mark_unknown(node, now)
            stamp = rfc3339(now)
            tainted = [
                {"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": stamp},
                {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp},
            ]
            await self._set_taints(node, taints + tainted)
        since = min((parse_time(t.get("timeAdded")) or now) for t in tainted)
        next_check = await self._evict(key, since, now)
        raise RequeueAfter(next_check)

    async def _mark_unknown(self, node: JSON, now: datetime) -> None:
        fresh = await self.client.get(NODES, node["metadata"]["name"])
        stamp = rfc3339(now)
        for cond in (fresh.get("status") or {}).get("conditions") or ():
            if cond.get("status") != "Unknown":
                cond.update(
                    status="Unknown",
                    reason="NodeStatusUnknown",
                    message="Kubelet stopped posting node status.",
                    lastTransitionTime=stamp,
                )
        await self.client.update_status(NODES, fresh)
        await self.recorder.event(
            fresh, NORMAL, "NodeNotReady", f"Node {fresh['metadata']['name']} status is now: NodeNotReady"
        )

    async def _set_taints(self, node: JSON, taints: list[JSON]) -> None:
        fresh = deep_copy(await self.client.get(NODES, node["metadata"]["name"]))
        fresh.setdefault("spec", {})["taints"] = taints or None
        if not taints:
            fresh["spec"].pop("taints", None)
        await self.client.update(NODES, fresh)

    async def _evict(self, node_name: str, since: datetime, now: datetime) -> float:
        """Delete pods whose toleration ran out; the seconds until the next one is due."""
        next_due = MONITOR_PERIOD * 12
        for pod in self.pods.store.list():
            if (pod.get("spec") or {}).get("nodeName") != node_name or pod["metadata"].get(
                "deletionTimestamp"
            ):
                continue
            seconds = self._toleration_seconds(pod)
            if seconds is None:
                continue  # tolerates unreachable forever
            due = since + timedelta(seconds=seconds)
            if due > now:
                next_due = min(next_due, (due - now).total_seconds())
                continue
            meta = pod["metadata"]
            try:
                await self.client.delete(PODS, meta["name"], meta.get("namespace"))
            except ApiError as e:
                if not e.not_found:
                    raise
                continue
            await self.recorder.event(
                pod,
                NORMAL,
                "TaintManagerEviction",
                f"Marking for deletion Pod {meta.get('namespace')}/{meta['name']}",
            )
        return next_due

    def _toleration_seconds(self, pod: JSON) -> float | None:
        for tol in (pod.get("spec") or {}).get("tolerations") or ():
            if tol.get("key") in (UNREACHABLE, None, "") and tol.get("effect") in ("NoExecute", None, ""):
                if tol.get("key") in (None, "") and tol.get("operator") != "Exists":
                    continue
                value = tol.get("tolerationSeconds")
                return None if value is None else float(value)
        return self.eviction_timeout
