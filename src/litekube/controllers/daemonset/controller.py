"""The DaemonSet controller: one pod per eligible node, rolled out node by node.

Handlers (constructor): DaemonSet add/update/delete → enqueue it; pod events → enqueue the
DaemonSet that controls the pod (recording creations/deletions as observed in the
expectations), or for an orphan every DaemonSet whose selector matches; node add/delete, or
a change of what decides placement (labels, taints, unschedulable, Ready) → enqueue all
DaemonSets. Node heartbeats change none of those and enqueue nothing.

`sync(key)`:
1. read the DaemonSet (missing → drop expectations; being deleted → the GC's job);
2. history: find or create the ControllerRevision of the current template and take its
   hash (`history.py`);
3. claim pods (adopt matching orphans) and group them by target node
   (`eligibility.target_node`: nodeName, or the pinning affinity of a pod not bound yet);
4. if the expectations of the previous sync are met: manage — create a pod where one
   should run and none does, delete failed pods, extra pods and pods on nodes where the
   daemon may no longer run — then, for RollingUpdate, delete old pods / add surge pods as
   `rolling.plan_rolling_update` allows (OnDelete replaces a pod only when a user deletes
   it), and trim revision history;
5. write status counters if they changed (`status.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from litekube.api.patch import deep_copy
from litekube.api.resources import ResourceType, lookup
from litekube.api.selectors import SelectorError, selector_from_spec
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.daemonset.eligibility import (
    Placement,
    daemon_pod_spec,
    pin_to_node,
    placement,
    target_node,
)
from litekube.controllers.daemonset.history import DaemonSetHistory
from litekube.controllers.daemonset.rolling import (
    GENERATION_LABEL,
    REVISION_LABEL,
    budgets,
    plan_rolling_update,
)
from litekube.controllers.daemonset.status import calculate_status, oldest_first
from litekube.controllers.pods import is_pod_active
from litekube.controllers.replicaset import slow_start_batch
from litekube.controllers.resources import PODS
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.events import NORMAL, WARNING, EventRecorder
from litekube.machinery.expectations import ControllerExpectations
from litekube.machinery.informer import InformerFactory, object_key, split_key
from litekube.machinery.owners import claim, controller_ref, new_controller_ref, recheck_owner
from litekube.scheduler.filters import is_node_ready


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


DAEMON_SETS = _rt("apps", "v1", "daemonsets")
NODES = _rt("", "v1", "nodes")
BURST_REPLICAS = 250  # upstream: at most this many creations/deletions per sync


def _placement_view(node: JSON) -> tuple[object, ...]:
    """What decides placement; a heartbeat that changes none of it is ignored."""
    spec = node.get("spec") or {}
    return (
        (node.get("metadata") or {}).get("labels"),
        spec.get("taints"),
        spec.get("unschedulable"),
        is_node_ready(node),
    )


class DaemonSetController(Controller):
    name = "daemonset-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        workers: int = 2,
        burst_replicas: int = BURST_REPLICAS,
    ) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.burst_replicas = burst_replicas
        self.recorder = EventRecorder(client, "daemonset-controller", clock)
        self.expectations = ControllerExpectations(clock)
        self.daemonsets = informers.informer(DAEMON_SETS)
        self.pods = informers.informer(PODS)
        self.nodes = informers.informer(NODES)
        self.history = DaemonSetHistory(client, informers)
        self.daemonsets.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self._ds_deleted)
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._pod_deleted)
        self.nodes.add_handlers(self._enqueue_all, self._node_updated, self._enqueue_all)

    # --- handlers: events → keys -------------------------------------------------------

    def _ds_deleted(self, ds: JSON) -> None:
        self.expectations.delete_expectations(object_key(ds))

    def _enqueue_all(self, _obj: JSON) -> None:
        for ds in self.daemonsets.store.list():
            self.enqueue(ds)

    def _node_updated(self, old: JSON, new: JSON) -> None:
        if _placement_view(old) != _placement_view(new):
            self._enqueue_all(new)

    def _owner_of(self, pod: JSON) -> JSON | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != DAEMON_SETS.kind:
            return None
        ds = self.daemonsets.store.get_by_name(pod["metadata"].get("namespace"), ref.get("name", ""))
        if ds is None or ds["metadata"].get("uid") != ref.get("uid"):
            return None
        return ds

    def _matching(self, pod: JSON) -> Iterator[JSON]:
        labels = (pod.get("metadata") or {}).get("labels")
        for ds in self.daemonsets.store.list(pod["metadata"].get("namespace") or ""):
            try:
                if selector_from_spec((ds.get("spec") or {}).get("selector")).matches(labels):
                    yield ds
            except SelectorError:
                continue

    def _pod_added(self, pod: JSON) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.creation_observed(object_key(owner))
            self.enqueue(owner)
        elif controller_ref(pod) is None:
            for ds in self._matching(pod):
                self.enqueue(ds)

    def _pod_updated(self, old: JSON, new: JSON) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        previous = self._owner_of(old)
        owner = self._owner_of(new)
        if previous is not None and previous is not owner:
            self.enqueue(previous)
        if owner is not None:
            self.enqueue(owner)
            min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0:
                self.enqueue_after(owner, min_ready + 1)  # look again once it may be available
        elif controller_ref(new) is None:
            for ds in self._matching(new):
                self.enqueue(ds)

    def _pod_deleted(self, pod: JSON) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.deletion_observed(object_key(owner))
            self.enqueue(owner)

    # --- sync ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        ds = self.daemonsets.store.get_by_name(namespace, name)
        if ds is None:
            self.expectations.delete_expectations(key)
            return
        if ds["metadata"].get("deletionTimestamp"):
            return
        hash_, revisions = await self.history.current(ds)
        pods = await self._claim_pods(ds)
        node_pods: dict[str, list[JSON]] = {}
        for pod in pods:
            node_pods.setdefault(target_node(pod) or "", []).append(pod)
        nodes = {n["metadata"]["name"]: n for n in self.nodes.store.list()}
        pod_spec = daemon_pod_spec(ds)
        placements = {node_name: placement(pod_spec, node) for node_name, node in nodes.items()}
        should_run = {n for n, p in placements.items() if p.should_run}
        if self.expectations.satisfied_expectations(key):
            await self._manage(ds, key, node_pods, placements, hash_)
            strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate"
            if strategy == "RollingUpdate":
                running = {n: node_pods.get(n, []) for n in should_run}
                plan = plan_rolling_update(ds, running, len(should_run), hash_, self.clock.now())
                await self._sync_nodes(ds, key, plan.delete, plan.create_on, hash_)
            await self.history.cleanup(ds, revisions, pods, hash_)
        new_status = calculate_status(ds, node_pods, should_run, hash_, self.clock.now())
        if new_status != (ds.get("status") or {}):
            body = deep_copy(ds)
            body["status"] = new_status
            await self.client.update_status(DAEMON_SETS, body)

    async def _claim_pods(self, ds: JSON) -> list[JSON]:
        namespace = ds["metadata"].get("namespace") or ""
        candidates = {
            p["metadata"]["uid"]: p
            for p in self.pods.store.by_owner(ds["metadata"]["uid"]) + self.pods.store.orphans(namespace)
            if p["metadata"].get("namespace") == namespace and is_pod_active_or_failed(p)
        }
        selector = selector_from_spec((ds.get("spec") or {}).get("selector"))

        async def can_adopt() -> None:
            await recheck_owner(self.client, DAEMON_SETS, ds)

        return await claim(self.client, PODS, ds, DAEMON_SETS, selector, candidates.values(), can_adopt)

    async def _manage(
        self,
        ds: JSON,
        key: str,
        node_pods: dict[str, list[JSON]],
        placements: dict[str, Placement],
        hash_: str,
    ) -> None:
        """Create missing daemon pods, delete failed, duplicate and misplaced ones."""
        create_on: list[str] = []
        delete: list[JSON] = []
        surge = _allows_surge(ds)
        for node_name, where in sorted(placements.items()):
            pods = [p for p in node_pods.get(node_name, []) if not p["metadata"].get("deletionTimestamp")]
            if where.should_run and not pods:
                create_on.append(node_name)
                continue
            if not where.should_continue_running:
                delete.extend(pods)
                continue
            running: list[JSON] = []
            for pod in pods:
                if (pod.get("status") or {}).get("phase") == "Failed":
                    await self.recorder.event(
                        ds,
                        WARNING,
                        "FailedDaemonPod",
                        f"Found failed daemon pod {pod['metadata'].get('namespace')}/"
                        f"{pod['metadata']['name']} on node {node_name}, will try to kill it",
                    )
                    delete.append(pod)
                else:
                    running.append(pod)
            delete.extend(_excess_pods(oldest_first(running), hash_, surge))
        for node_name, pods in node_pods.items():
            if node_name not in placements:  # the node is gone (or the pod names none)
                delete.extend(p for p in pods if not p["metadata"].get("deletionTimestamp"))
        await self._sync_nodes(ds, key, delete, create_on, hash_)

    async def _sync_nodes(
        self, ds: JSON, key: str, delete: list[JSON], create_on: list[str], hash_: str
    ) -> None:
        create_on = create_on[: self.burst_replicas]
        delete = delete[: self.burst_replicas]
        if not create_on and not delete:
            return
        self.expectations.set_expectations(key, len(create_on), len(delete))
        errors: list[Exception] = []
        nodes = iter(create_on)
        generation = int(ds["metadata"].get("generation") or 0)

        async def create_one() -> None:
            await self._create_pod(ds, next(nodes), hash_, generation)

        created, error = await slow_start_batch(len(create_on), 1, create_one)
        for _ in range(len(create_on) - created):
            self.expectations.creation_observed(key)  # never made: will never be observed
        if error is not None:
            errors.append(error)
        results = await asyncio.gather(
            *(self._delete_pod(ds, key, p) for p in delete), return_exceptions=True
        )
        errors.extend(r for r in results if isinstance(r, Exception))
        if errors:
            raise errors[0]

    async def _create_pod(self, ds: JSON, node_name: str, hash_: str, generation: int) -> None:
        template = (ds.get("spec") or {}).get("template") or {}
        template_meta = template.get("metadata") or {}
        labels = dict(template_meta.get("labels") or {})
        labels[REVISION_LABEL] = hash_
        labels[GENERATION_LABEL] = str(generation)
        meta: JSON = {
            "generateName": f"{ds['metadata']['name']}-",
            "labels": labels,
            "ownerReferences": [new_controller_ref(ds, DAEMON_SETS)],
        }
        if template_meta.get("annotations"):
            meta["annotations"] = deep_copy(template_meta["annotations"])
        spec = daemon_pod_spec(ds)
        pin_to_node(spec, node_name)
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
        try:
            created = await self.client.create(PODS, body, ds["metadata"].get("namespace"))
        except ApiError as e:
            await self.recorder.event(
                ds, WARNING, "FailedCreate", f"Error creating: {e.status.get('message', e)}"
            )
            raise
        await self.recorder.event(
            ds, NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}"
        )

    async def _delete_pod(self, ds: JSON, key: str, pod: JSON) -> None:
        meta = pod["metadata"]
        try:
            await self.client.delete(PODS, meta["name"], meta.get("namespace"))
        except ApiError as e:
            self.expectations.deletion_observed(key)
            if e.not_found:
                return
            await self.recorder.event(
                ds, WARNING, "FailedDelete", f"Error deleting: {e.status.get('message', e)}"
            )
            raise
        await self.recorder.event(ds, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")


def is_pod_active_or_failed(pod: JSON) -> bool:
    """Claimable: alive, or Failed (so the manage loop can replace it); not Succeeded."""
    return is_pod_active(pod) or (pod.get("status") or {}).get("phase") == "Failed"


def _allows_surge(ds: JSON) -> bool:
    spec = ds.get("spec") or {}
    if ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") != "RollingUpdate":
        return False
    return budgets(ds, 1)[0] > 0  # any non-zero maxSurge, percentages included, rounds up to ≥ 1


def _excess_pods(running: list[JSON], hash_: str, surge: bool) -> list[JSON]:
    """Pods beyond one per node, oldest kept (upstream podsShouldBeOnNode).

    With surge, an old and a new pod may coexist while the new one becomes available
    (the rolling update deletes the old one then); any third pod goes.
    """
    if len(running) <= 1:
        return []
    if not surge:
        return running[1:]
    oldest_new: JSON | None = None
    oldest_old: JSON | None = None
    excess: list[JSON] = []
    for pod in running:
        is_new = ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL) == hash_
        if is_new and oldest_new is None:
            oldest_new = pod
        elif not is_new and oldest_old is None:
            oldest_old = pod
        else:
            excess.append(pod)
    return excess
