"""The ReplicaSet controller: keep `spec.replicas` pods alive, report counts in status.

Handlers (constructor): ReplicaSet add/update/delete → enqueue it; pod add/update/delete →
enqueue the ReplicaSet that controls the pod (and record the creation/deletion as observed
in the expectations), or, for an orphan pod, every ReplicaSet whose selector matches it.

`sync(key)`:
1. read the ReplicaSet from the cache (missing → drop its expectations, done);
2. claim pods: active pods in its namespace matching its selector, adopting orphans and
   releasing pods that stopped matching (`litekube.machinery.owners.claim`);
3. if the expectations from the previous sync are satisfied and the ReplicaSet is not
   being deleted, `manage_replicas`: create the missing pods in slow-start batches
   (1, 2, 4, … so that a failing create, e.g. quota, costs one request and not 500), or
   delete the surplus, choosing victims with `ranking.rank_pods_for_deletion`;
4. write status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
   observedGeneration, ReplicaFailure) if it changed; if pods are ready but not yet
   available for minReadySeconds, look again after that delay.

The same class serves ReplicationControllers (`litekube.controllers.replicationcontroller`):
only the resource type, the selector shape and the event component differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from litekube.api.patch import deep_copy
from litekube.api.resources import ResourceType
from litekube.api.selectors import LabelSelector, SelectorError, selector_from_spec
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.pods import is_pod_active, is_pod_ready, pod_key
from litekube.controllers.replicaset.ranking import rank_pods_for_deletion
from litekube.controllers.replicaset.status import calculate_status, update_status
from litekube.controllers.resources import PODS, REPLICA_SETS
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller, RequeueAfter
from litekube.machinery.events import NORMAL, WARNING, EventRecorder
from litekube.machinery.expectations import UIDTrackingControllerExpectations
from litekube.machinery.informer import InformerFactory, object_key, split_key
from litekube.machinery.owners import claim, controller_ref, new_controller_ref, recheck_owner

BURST_REPLICAS = 500  # upstream: at most this many creations/deletions per sync
SLOW_START_INITIAL_BATCH = 1


def selector_of(obj: JSON) -> LabelSelector:
    """The owner's pod selector; a ReplicationController's is a plain label map."""
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if obj.get("kind") == "ReplicationController":
        labels = selector or ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        return selector_from_spec({"matchLabels": labels})
    return selector_from_spec(selector)


async def slow_start_batch(
    count: int, initial: int, fn: Callable[[], Awaitable[None]]
) -> tuple[int, Exception | None]:
    """Call fn `count` times in batches of 1, 2, 4, …; stop at the first batch with an error.

    Example: count 10 → batches of 1, 2, 4, 3. If the batch of 4 has a failure, 3 + the
    batch's successes are reported and the last 3 calls are never made.
    """
    successes = 0
    remaining = count
    batch = min(remaining, initial)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, Exception)]
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


class ReplicaSetController(Controller):
    name = "replicaset-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        rt: ResourceType = REPLICA_SETS,
        workers: int = 5,
        burst_replicas: int = BURST_REPLICAS,
        component: str = "replicaset-controller",
    ) -> None:
        super().__init__(clock, workers)
        self.name = component
        self.client = client
        self.rt = rt
        self.burst_replicas = burst_replicas
        self.recorder = EventRecorder(client, component, clock)
        self.expectations = UIDTrackingControllerExpectations(clock)
        self.owners = informers.informer(rt)
        self.pods = informers.informer(PODS)
        self.owners.add_handlers(self.enqueue, self._owner_updated, self._owner_deleted)
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._pod_deleted)

    # --- handlers: events → keys -------------------------------------------------------

    def _owner_updated(self, old: JSON, new: JSON) -> None:
        self.enqueue(new)

    def _owner_deleted(self, obj: JSON) -> None:
        self.expectations.delete_expectations(object_key(obj))
        self.enqueue(obj)

    def _resolve(self, pod: JSON, ref: JSON | None) -> JSON | None:
        if ref is None or ref.get("kind") != self.rt.kind:
            return None
        owner = self.owners.store.get_by_name(pod["metadata"].get("namespace"), ref.get("name", ""))
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return owner

    def _matching_owners(self, pod: JSON) -> list[JSON]:
        labels = (pod.get("metadata") or {}).get("labels")
        found = []
        for owner in self.owners.store.list(pod["metadata"].get("namespace") or ""):
            try:
                if selector_of(owner).matches(labels):
                    found.append(owner)
            except SelectorError:
                continue
        return found

    def _pod_added(self, pod: JSON) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._pod_deleted(pod)  # seen first as "being deleted": counts as a deletion
            return
        owner = self._resolve(pod, controller_ref(pod))
        if owner is not None:
            self.expectations.creation_observed(object_key(owner))
            self.enqueue(owner)
            return
        if controller_ref(pod) is None:
            for candidate in self._matching_owners(pod):
                self.enqueue(candidate)

    def _pod_updated(self, old: JSON, new: JSON) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return  # a resync: nothing changed
        labels_changed = old["metadata"].get("labels") != new["metadata"].get("labels")
        if new["metadata"].get("deletionTimestamp"):
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref != new_ref and old_ref is not None:
            previous = self._resolve(old, old_ref)
            if previous is not None:
                self.enqueue(previous)
        owner = self._resolve(new, new_ref)
        if owner is not None:
            self.enqueue(owner)
            min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
                # look again once the pod has been ready for minReadySeconds
                self.enqueue_after(owner, min_ready + 1)
            return
        if new_ref is None and (labels_changed or old_ref != new_ref):
            for candidate in self._matching_owners(new):
                self.enqueue(candidate)

    def _pod_deleted(self, pod: JSON) -> None:
        owner = self._resolve(pod, controller_ref(pod))
        if owner is None:
            return
        key = object_key(owner)
        self.expectations.deletion_observed_of(key, pod_key(pod))
        self.enqueue(owner)

    # --- sync ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        cached = self.owners.store.get_by_name(namespace, name)
        if cached is None:
            self.expectations.delete_expectations(key)
            return
        needs_sync = self.expectations.satisfied_expectations(key)
        selector = selector_of(cached)
        # ours (by owner index) and orphans: claim() ignores pods of other controllers anyway
        uid = cached["metadata"]["uid"]
        owned = {
            p["metadata"]["uid"]: p
            for p in self.pods.store.by_owner(uid) + self.pods.store.orphans(namespace or "")
        }
        candidates = [
            p for p in owned.values() if is_pod_active(p) and p["metadata"].get("namespace") == namespace
        ]

        async def can_adopt() -> None:
            await recheck_owner(self.client, self.rt, cached)

        pods = await claim(self.client, PODS, cached, self.rt, selector, candidates, can_adopt)
        manage_error: Exception | None = None
        if needs_sync and not cached["metadata"].get("deletionTimestamp"):
            try:
                await self.manage_replicas(pods, cached, key)
            except Exception as e:
                manage_error = e
        owner = deep_copy(cached)
        new_status = calculate_status(owner, pods, manage_error, self.clock.now())
        updated = await update_status(self.client, self.rt, owner, new_status)
        spec = updated.get("spec") or {}
        status = updated.get("status") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        replicas = int(spec.get("replicas", 1))
        if manage_error is not None:
            raise manage_error
        if (
            min_ready > 0
            and status.get("readyReplicas") == replicas
            and status.get("availableReplicas") != replicas
        ):
            raise RequeueAfter(min_ready)

    async def manage_replicas(self, pods: list[JSON], owner: JSON, key: str) -> None:
        spec = owner.get("spec") or {}
        diff = len(pods) - int(spec.get("replicas", 1))
        if diff < 0:
            await self._create_pods(owner, key, min(-diff, self.burst_replicas))
        elif diff > 0:
            await self._delete_pods(owner, key, pods, min(diff, self.burst_replicas))

    async def _create_pods(self, owner: JSON, key: str, count: int) -> None:
        self.expectations.expect_creations(key, count)
        ref = new_controller_ref(owner, self.rt)
        body = pod_from_template(owner, ref)

        async def create_one() -> None:
            try:
                created = await self.client.create(PODS, deep_copy(body), owner["metadata"].get("namespace"))
            except ApiError as e:
                if _namespace_terminating(e):
                    return  # every create would fail; the namespace controller cleans up
                await self.recorder.event(
                    owner, WARNING, "FailedCreate", f"Error creating: {e.status.get('message', e)}"
                )
                raise
            await self.recorder.event(
                owner, NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}"
            )

        successes, error = await slow_start_batch(count, SLOW_START_INITIAL_BATCH, create_one)
        # creations never attempted (or failed) will never be observed by the informer
        for _ in range(count - successes):
            self.expectations.creation_observed(key)
        if error is not None:
            raise error

    async def _delete_pods(self, owner: JSON, key: str, pods: list[JSON], count: int) -> None:
        related = self._related_pods(owner) or pods
        victims = rank_pods_for_deletion(pods, related, self.clock.now())[:count]
        self.expectations.expect_deletions_of(key, [pod_key(p) for p in victims])

        async def delete_one(pod: JSON) -> None:
            meta = pod["metadata"]
            try:
                await self.client.delete(PODS, meta["name"], meta.get("namespace"))
            except ApiError as e:
                self.expectations.deletion_observed_of(key, pod_key(pod))
                if e.not_found:
                    return
                await self.recorder.event(
                    owner, WARNING, "FailedDelete", f"Error deleting: {e.status.get('message', e)}"
                )
                raise
            await self.recorder.event(owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")

        results = await asyncio.gather(*(delete_one(p) for p in victims), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                raise result

    def _related_pods(self, owner: JSON) -> list[JSON]:
        """Pods of every sibling owned by our owner (a Deployment's other ReplicaSets)."""
        ref = controller_ref(owner)
        siblings = self.owners.store.by_owner(ref["uid"]) if ref else [owner]
        related: list[JSON] = []
        for sibling in siblings:
            related.extend(self.pods.store.by_owner(sibling["metadata"]["uid"]))
        return related


def pod_from_template(owner: JSON, ref: JSON) -> JSON:
    """The pod a ReplicaSet creates (controller.GetPodFromTemplate): template + generateName + ownerRef."""
    template = (owner.get("spec") or {}).get("template") or {}
    template_meta = template.get("metadata") or {}
    meta: JSON = {"generateName": f"{owner['metadata']['name']}-", "ownerReferences": [ref]}
    for field_name in ("labels", "annotations", "finalizers"):
        if template_meta.get(field_name):
            meta[field_name] = deep_copy(template_meta[field_name])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": deep_copy(template.get("spec") or {}),
    }


def _namespace_terminating(error: ApiError) -> bool:
    causes = (error.status.get("details") or {}).get("causes") or []
    return any(c.get("reason") == "NamespaceTerminating" for c in causes)
