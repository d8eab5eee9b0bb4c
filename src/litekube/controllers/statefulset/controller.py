"""The StatefulSet controller: ordered pods with stable names, rolled out in reverse order.

Handlers (constructor): StatefulSet add/update/delete → enqueue it; pod events → enqueue the
StatefulSet that controls the pod, or for an orphan every StatefulSet whose selector
matches it.

`sync(key)`:
1. read the set (missing, or being deleted → nothing to do: the GC removes its pods);
2. find/create the update revision and find the current one (`revisions.py`);
3. claim pods (adopt matching orphans, release those that stopped matching), repair
   identity labels someone removed;
4. plan one ordered pass (`ordered.plan`) and perform its creates and deletes. Pod names
   are fixed, so a create repeated from a cache that lagged behind just answers 409
   AlreadyExists and a repeated delete 404: no expectations are needed;
5. write status (`status.py`) and trim revision history.

volumeClaimTemplates need PersistentVolumeClaims, which litekube does not serve yet: pods
are created without claims, and a Warning event says so once per StatefulSet.
"""

from __future__ import annotations

import asyncio

from litekube.api.patch import deep_copy
from litekube.api.resources import ResourceType, lookup
from litekube.api.selectors import SelectorError, selector_from_spec
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.pods import is_pod_active
from litekube.controllers.resources import PODS
from litekube.controllers.statefulset.identity import identity_patch, new_pod, ordinal_of, pod_revision
from litekube.controllers.statefulset.ordered import plan
from litekube.controllers.statefulset.revisions import StatefulSetHistory
from litekube.controllers.statefulset.status import calculate_status
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.events import NORMAL, WARNING, EventRecorder
from litekube.machinery.informer import InformerFactory, split_key
from litekube.machinery.owners import claim, controller_ref, new_controller_ref, recheck_owner

_STS = lookup("apps", "v1", "statefulsets")
assert _STS is not None
STATEFUL_SETS: ResourceType = _STS
VOLUME_CLAIMS_IGNORED = "VolumeClaimTemplatesIgnored"


class StatefulSetController(Controller):
    name = "statefulset-controller"

    def __init__(self, client: Client, informers: InformerFactory, clock: Clock, workers: int = 2) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.recorder = EventRecorder(client, "statefulset-controller", clock)
        self.sets = informers.informer(STATEFUL_SETS)
        self.pods = informers.informer(PODS)
        self.history = StatefulSetHistory(client, informers, STATEFUL_SETS)
        self._warned_claims: set[str] = set()  # uids already told about volumeClaimTemplates
        self.sets.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handlers(self._pod_changed, self._pod_updated, self._pod_changed)

    # --- handlers: events → keys -------------------------------------------------------

    def _owner_of(self, pod: JSON) -> JSON | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != STATEFUL_SETS.kind:
            return None
        sts = self.sets.store.get_by_name(pod["metadata"].get("namespace"), ref.get("name", ""))
        if sts is None or sts["metadata"].get("uid") != ref.get("uid"):
            return None
        return sts

    def _pod_changed(self, pod: JSON) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.enqueue(owner)
            return
        if controller_ref(pod) is not None:
            return
        labels = (pod.get("metadata") or {}).get("labels")
        for sts in self.sets.store.list(pod["metadata"].get("namespace") or ""):
            try:
                if selector_from_spec((sts.get("spec") or {}).get("selector")).matches(labels):
                    self.enqueue(sts)
            except SelectorError:
                continue

    def _pod_updated(self, old: JSON, new: JSON) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        previous = self._owner_of(old)
        if previous is not None and controller_ref(new) != controller_ref(old):
            self.enqueue(previous)
        self._pod_changed(new)
        owner = self._owner_of(new)
        min_ready = int(((owner or {}).get("spec") or {}).get("minReadySeconds") or 0)
        if owner is not None and min_ready > 0:
            self.enqueue_after(owner, min_ready + 1)  # availability changes with time alone

    # --- sync ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        sts = self.sets.store.get_by_name(namespace, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        await self._warn_volume_claims(sts)
        revisions = await self.history.revisions_of(sts)
        pods = await self._claim_pods(sts)
        await self._repair_identity(sts, pods)
        actions = plan(sts, pods, revisions)
        ref = new_controller_ref(sts, STATEFUL_SETS)
        results = await asyncio.gather(
            *(self._create(sts, new_pod(sts, rev, ordinal, ref)) for ordinal, rev in actions.create),
            *(self._delete(sts, pod) for pod in actions.delete),
            return_exceptions=True,
        )
        new_status = calculate_status(sts, pods, revisions, self.clock.now())
        if new_status != (sts.get("status") or {}):
            body = deep_copy(sts)
            body["status"] = new_status
            await self.client.update_status(STATEFUL_SETS, body)
        live = {pod_revision(p) for p in pods}
        await self.history.cleanup(sts, revisions, live)
        for result in results:
            if isinstance(result, Exception):
                raise result

    async def _claim_pods(self, sts: JSON) -> list[JSON]:
        namespace = sts["metadata"].get("namespace") or ""
        name = sts["metadata"]["name"]
        candidates = {
            p["metadata"]["uid"]: p
            for p in self.pods.store.by_owner(sts["metadata"]["uid"]) + self.pods.store.orphans(namespace)
            if p["metadata"].get("namespace") == namespace
            and ordinal_of(name, p) is not None
            and (is_pod_active(p) or (p.get("status") or {}).get("phase") in ("Failed", "Succeeded"))
        }
        selector = selector_from_spec((sts.get("spec") or {}).get("selector"))

        async def can_adopt() -> None:
            await recheck_owner(self.client, STATEFUL_SETS, sts)

        return await claim(self.client, PODS, sts, STATEFUL_SETS, selector, candidates.values(), can_adopt)

    async def _repair_identity(self, sts: JSON, pods: list[JSON]) -> None:
        for pod in pods:
            ordinal = ordinal_of(sts["metadata"]["name"], pod)
            patch = identity_patch(sts, pod, ordinal) if ordinal is not None else None
            if patch is not None and not pod["metadata"].get("deletionTimestamp"):
                await self.client.patch(
                    PODS, pod["metadata"]["name"], patch, pod["metadata"].get("namespace")
                )

    async def _warn_volume_claims(self, sts: JSON) -> None:
        templates = (sts.get("spec") or {}).get("volumeClaimTemplates") or []
        uid = sts["metadata"]["uid"]
        if not templates or uid in self._warned_claims:
            return
        self._warned_claims.add(uid)
        names = ", ".join(str((t.get("metadata") or {}).get("name", "")) for t in templates)
        message = (
            f"volumeClaimTemplates ({names}) are ignored: PersistentVolumeClaims are not served by "
            "litekube yet, so pods are created without their claims"
        )
        await self.recorder.event(sts, WARNING, VOLUME_CLAIMS_IGNORED, message)

    async def _create(self, sts: JSON, pod: JSON) -> None:
        pod_name, set_name = pod["metadata"]["name"], sts["metadata"]["name"]
        try:
            await self.client.create(PODS, pod, sts["metadata"].get("namespace"))
        except ApiError as e:
            if e.code == 409:
                return  # our cache had not seen it yet: the next pass will
            await self.recorder.event(
                sts,
                WARNING,
                "FailedCreate",
                f"create Pod {pod_name} in StatefulSet {set_name} failed error: {e.status.get('message', e)}",
            )
            raise
        await self.recorder.event(
            sts, NORMAL, "SuccessfulCreate", f"create Pod {pod_name} in StatefulSet {set_name} successful"
        )

    async def _delete(self, sts: JSON, pod: JSON) -> None:
        pod_name, set_name = pod["metadata"]["name"], sts["metadata"]["name"]
        try:
            await self.client.delete(
                PODS,
                pod_name,
                pod["metadata"].get("namespace"),
                preconditions={"uid": pod["metadata"]["uid"]},
            )
        except ApiError as e:
            if e.not_found:
                return
            await self.recorder.event(
                sts,
                WARNING,
                "FailedDelete",
                f"delete Pod {pod_name} in StatefulSet {set_name} failed error: {e.status.get('message', e)}",
            )
            raise
        await self.recorder.event(
            sts, NORMAL, "SuccessfulDelete", f"delete Pod {pod_name} in StatefulSet {set_name} successful"
        )
