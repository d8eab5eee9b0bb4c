"""The scheduler: place every unscheduled pod on a node, or say why it cannot be placed.

Flow:

    pod informer ──(spec.nodeName empty, our schedulerName)──► queue ──► sync(pod key)
    node informer / pod deletions ──► requeue every pod that was unschedulable

`sync(key)`:
1. read the pod from the cache; gone, bound, finished, being deleted, another scheduler's
   or already assumed → nothing to do;
2. run the filters (`filters.check_node`) on the nodes (`NodeInfoCache`: what the filters read
   of each node, rebuilt per node resourceVersion) until upstream's adaptive number of
   feasible nodes is found (every node up to 100 nodes), against `NodeUsage` (requests of
   bound pods, kept incrementally from pod events, plus pods we bound whose binding the
   cache has not shown yet — the "assumed" pods, so two quick pods do not both take the
   last core of a node);
3. none fits → write PodScheduled=False/Unschedulable with upstream's FitError message
   through the pod's status subresource (only when it changed) and a FailedScheduling
   Event; remember the pod so a node change or a pod deletion retries it;
4. otherwise score the feasible nodes (`scoring.pick_node`), POST pods/{name}/binding and
   record a Scheduled Event "Successfully assigned ns/pod to node".
"""

from __future__ import annotations

import logging

from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.machinery.clock import Clock, rfc3339
from litekube.machinery.controller import Controller
from litekube.machinery.events import NORMAL, WARNING, EventRecorder
from litekube.machinery.informer import InformerFactory, object_key, split_key
from litekube.scheduler.filters import Failure, check_node, fit_error_message
from litekube.scheduler.nodeinfo import NodeInfoCache, PodView
from litekube.scheduler.resources import NodeTotals, NodeUsage, occupies_node, owner_uid, pod_requests
from litekube.scheduler.scoring import Candidate, pick_node

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "default-scheduler"
# Unschedulable pods are looked at again at least this often even if nothing changed
# (upstream's podMaxInUnschedulablePodsDuration is 5 minutes).
UNSCHEDULABLE_RETRY = 300.0
# Placing a pod is synchronous (filter, score, assume: no await in between), so workers only
# overlap in the binding write and the Event that follows it — upstream's asynchronous
# binding cycle. The assumed pods keep two placements from taking the same capacity.
BINDING_WORKERS = 16
# upstream's minFeasibleNodesToFind, minFeasibleNodesPercentageToFind, basePercentageOfNodesToScore
MIN_FEASIBLE_NODES = 100
MIN_FEASIBLE_PERCENTAGE = 5
BASE_PERCENTAGE_OF_NODES = 50


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


PODS = _rt("", "v1", "pods")
NODES = _rt("", "v1", "nodes")


class Scheduler(Controller):
    name = "default-scheduler"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        recorder: EventRecorder | None = None,
        scheduler_name: str = DEFAULT_SCHEDULER_NAME,
        workers: int = BINDING_WORKERS,
    ) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.scheduler_name = scheduler_name
        self.recorder = recorder or EventRecorder(client, scheduler_name, clock)
        self.usage = NodeUsage()
        self.node_infos = NodeInfoCache()  # what the filters read, per node resourceVersion
        self.assumed: dict[str, str] = {}  # pod key -> node, until the cache shows the binding
        self.unschedulable: set[str] = set()
        self._next_start = 0  # where the next pod's filtering starts when not all nodes are checked
        self.pods = informers.informer(PODS)
        self.nodes = informers.informer(NODES)
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._pod_deleted)
        self.nodes.add_handlers(self._node_changed_added, self._node_updated, self._node_deleted)

    # --- handlers ----------------------------------------------------------------------

    def _ours(self, pod: JSON) -> bool:
        spec = pod.get("spec") or {}
        return (spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME) == self.scheduler_name

    def _needs_scheduling(self, pod: JSON) -> bool:
        if (pod.get("spec") or {}).get("nodeName") or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return False
        return self._ours(pod) and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")

    def _pod_added(self, pod: JSON) -> None:
        key = object_key(pod)
        if occupies_node(pod):
            self.assumed.pop(key, None)
            self.usage.set_pod(key, pod)
        elif self._needs_scheduling(pod):
            self.queue.add(key)

    def _pod_updated(self, old: JSON, new: JSON) -> None:
        key = object_key(new)
        was_holding = occupies_node(old)
        if occupies_node(new):
            self.assumed.pop(key, None)
            # status writes (Running, Ready) leave a bound pod's requests where they were
            if not (was_holding and old.get("spec") == new.get("spec") and self.usage.placed_on(key)):
                self.usage.set_pod(key, new)
        elif key not in self.assumed:
            self.usage.remove(key)
        if was_holding and not occupies_node(new):
            self._retry_unschedulable()  # a finished pod frees its node's resources
        if self._needs_scheduling(new) and key not in self.assumed:
            self.queue.add(key)

    def _pod_deleted(self, pod: JSON) -> None:
        key = object_key(pod)
        self.assumed.pop(key, None)
        self.unschedulable.discard(key)
        held = self.usage.placed_on(key) is not None
        self.usage.remove(key)
        if held:
            self._retry_unschedulable()

    def _node_changed_added(self, node: JSON) -> None:
        self.node_infos.upsert(node)
        self._retry_unschedulable()

    def _node_deleted(self, node: JSON) -> None:
        self.node_infos.remove((node.get("metadata") or {}).get("name", ""))

    def _node_updated(self, old: JSON, new: JSON) -> None:
        self.node_infos.upsert(new)
        # Heartbeats change only timestamps; requeue when something a filter reads changed.
        if _scheduling_view(old) != _scheduling_view(new):
            self._retry_unschedulable()

    def _retry_unschedulable(self) -> None:
        for key in list(self.unschedulable):
            self.queue.add(key)

    # --- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        pod = self.pods.store.get(key)
        if pod is None or not self._needs_scheduling(pod) or key in self.assumed:
            self.unschedulable.discard(key)
            return
        nodes = self.node_infos.ordered()
        view = PodView.of(pod, pod_requests(pod))  # once per pod, not once per node
        totals_of = self.usage.node_totals
        empty = NodeTotals()
        wanted = feasible_nodes_to_find(len(nodes))
        feasible: list[Candidate] = []
        failures: list[Failure] = []
        start = self._next_start % len(nodes) if nodes else 0
        checked = 0
        for info in nodes[start:] + nodes[:start] if start else nodes:
            if len(feasible) >= wanted:
                break
            checked += 1
            totals = totals_of.get(info.name) or empty
            failure = check_node(view, info, totals)
            if failure is None:
                feasible.append((info.node, totals, info.allocatable_floats))
            else:
                failures.append(failure)
        self._next_start = (start + checked) % max(
            len(nodes), 1
        )  # the next pod starts where this one stopped (upstream)
        if not feasible:
            await self._unschedulable(pod, fit_error_message(len(nodes), failures))
            return
        chosen = pick_node(view.requests, owner_uid(pod), feasible)
        node_name = chosen["metadata"]["name"]
        self.assumed[key] = node_name
        self.usage.set_pod(key, pod, node=node_name)
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": namespace, "uid": pod["metadata"].get("uid")},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        try:
            await self.client.create_subresource(PODS, name, "binding", body, namespace)
        except ApiError as e:
            self.assumed.pop(key, None)
            self.usage.remove(key)
            if e.not_found or e.conflict:
                return  # deleted meanwhile, or someone else bound it: the cache will tell
            raise
        self.unschedulable.discard(key)
        await self.recorder.event(pod, NORMAL, "Scheduled", f"Successfully assigned {key} to {node_name}")

    async def _unschedulable(self, pod: JSON, message: str) -> None:
        key = object_key(pod)
        self.unschedulable.add(key)
        self.queue.add_after(key, UNSCHEDULABLE_RETRY)
        current = next(
            (c for c in (pod.get("status") or {}).get("conditions") or () if c.get("type") == "PodScheduled"),
            None,
        )
        if current and current.get("status") == "False" and current.get("message") == message:
            return  # already says so; do not write (or emit) again for nothing
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": rfc3339(self.clock.now()),
        }
        meta = pod["metadata"]
        try:
            await self.client.patch(
                PODS,
                meta["name"],
                {"status": {"conditions": [condition]}},
                meta.get("namespace"),
                patch_type="application/strategic-merge-patch+json",
                subresource="status",
            )
        except ApiError as e:
            if e.not_found:
                return
            raise
        await self.recorder.event(pod, WARNING, "FailedScheduling", message)


def feasible_nodes_to_find(all_nodes: int) -> int:
    """Upstream's numFeasibleNodesToFind with the default percentageOfNodesToScore (adaptive).

    Filtering stops once this many nodes fit: every node below 100 nodes; otherwise
    50% - 1% per 125 nodes (at least 5%) of them, but never fewer than 100. Worked example:
    100 nodes → all 100; 1,000 nodes → 50 - 8 = 42% → 420; 6,000 nodes → 5% → 300.
    """
    if all_nodes < MIN_FEASIBLE_NODES:
        return all_nodes
    percentage = max(BASE_PERCENTAGE_OF_NODES - all_nodes // 125, MIN_FEASIBLE_PERCENTAGE)
    return max(all_nodes * percentage // 100, MIN_FEASIBLE_NODES)


def _scheduling_view(node: JSON) -> tuple[object, ...]:
    status = node.get("status") or {}
    conditions = tuple((c.get("type"), c.get("status")) for c in status.get("conditions") or ())
    meta = node.get("metadata") or {}
    return (node.get("spec"), meta.get("labels"), status.get("allocatable"), conditions)
