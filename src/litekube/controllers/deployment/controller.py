"""The Deployment controller: handlers and the top of `sync` (upstream deployment_controller.go).

Handlers: Deployment add/update/delete → enqueue it. ReplicaSet events → enqueue the
Deployment controlling the RS (or, for an orphan RS, every Deployment whose selector
matches, so one can adopt it). Pod deletions → enqueue the owning Deployment when it uses
Recreate (which waits for old pods to disappear).

`sync(key)` decides which path the Deployment takes:

    missing → nothing (the garbage collector removes its ReplicaSets)
    empty selector → Warning SelectingAll, only observedGeneration is recorded
    claim ReplicaSets (adopt matching orphans, release non-matching ones)
    being deleted → status only
    record pause/resume in the Progressing condition
    paused → scale only (sync.sync_scale), no rollout
    rollback annotation → rollback.rollback
    a scaling event → sync.sync_scale
    otherwise → recreate.rollout_recreate or rolling.rollout_rolling
"""

from __future__ import annotations

from litekube.api.patch import deep_copy
from litekube.api.selectors import SelectorError, selector_from_spec
from litekube.client.base import JSON, Client
from litekube.controllers.deployment import util
from litekube.controllers.deployment.progress import check_paused_conditions
from litekube.controllers.deployment.recreate import rollout_recreate
from litekube.controllers.deployment.rollback import rollback, rollback_to
from litekube.controllers.deployment.rolling import rollout_rolling
from litekube.controllers.deployment.sync import (
    DeploymentContext,
    get_all_replica_sets_and_sync_revision,
    is_scaling_event,
    sync_deployment_status,
    sync_scale,
    update_status,
)
from litekube.controllers.resources import DEPLOYMENTS, PODS, REPLICA_SETS
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.events import WARNING, EventRecorder
from litekube.machinery.informer import InformerFactory, split_key
from litekube.machinery.owners import claim, controller_ref, recheck_owner

MAX_RETRIES = 15  # upstream drops a deployment out of the queue after this many failures


class DeploymentController(Controller):
    name = "deployment-controller"
    max_retries = MAX_RETRIES

    def __init__(self, client: Client, informers: InformerFactory, clock: Clock, workers: int = 5) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.recorder = EventRecorder(client, "deployment-controller", clock)
        self.deployments = informers.informer(DEPLOYMENTS)
        self.replica_sets = informers.informer(REPLICA_SETS)
        self.pods = informers.informer(PODS)
        self.deployments.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.replica_sets.add_handlers(self._rs_added, self._rs_updated, self._rs_deleted)
        self.pods.add_handlers(on_delete=self._pod_deleted)
        self.context = DeploymentContext(
            client=client,
            recorder=self.recorder,
            clock=clock,
            get_rs=self.replica_sets.store.get_by_name,
            requeue_after=self.enqueue_after,
            requeue_rate_limited=self.enqueue_rate_limited,
        )

    # --- handlers ------------------------------------------------------------------------

    def _owner_of(self, obj: JSON, kind: str) -> JSON | None:
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") != kind:
            return None
        if kind == "Deployment":
            owner = self.deployments.store.get_by_name(obj["metadata"].get("namespace"), ref.get("name", ""))
        else:
            owner = self.replica_sets.store.get_by_name(obj["metadata"].get("namespace"), ref.get("name", ""))
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return owner

    def _deployments_matching(self, rs: JSON) -> list[JSON]:
        labels = (rs.get("metadata") or {}).get("labels")
        found = []
        for d in self.deployments.store.list(rs["metadata"].get("namespace") or ""):
            try:
                selector = selector_from_spec((d.get("spec") or {}).get("selector"))
            except SelectorError:
                continue
            if not selector.empty and selector.matches(labels):
                found.append(d)
        return found

    def _rs_added(self, rs: JSON) -> None:
        owner = self._owner_of(rs, "Deployment")
        if owner is not None:
            self.enqueue(owner)
        elif controller_ref(rs) is None:
            for d in self._deployments_matching(rs):
                self.enqueue(d)

    def _rs_updated(self, old: JSON, new: JSON) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref != new_ref and old_ref is not None:
            previous = self._owner_of(old, "Deployment")
            if previous is not None:
                self.enqueue(previous)
        owner = self._owner_of(new, "Deployment")
        if owner is not None:
            self.enqueue(owner)
            return
        labels_changed = old["metadata"].get("labels") != new["metadata"].get("labels")
        if new_ref is None and (labels_changed or old_ref != new_ref):
            for d in self._deployments_matching(new):
                self.enqueue(d)

    def _rs_deleted(self, rs: JSON) -> None:
        owner = self._owner_of(rs, "Deployment")
        if owner is not None:
            self.enqueue(owner)

    def _pod_deleted(self, pod: JSON) -> None:
        rs = self._owner_of(pod, "ReplicaSet")
        if rs is None:
            return
        d = self._owner_of(rs, "Deployment")
        if d is not None and util.strategy_type(d) == "Recreate":
            self.enqueue(d)

    # --- sync ----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        cached = self.deployments.store.get_by_name(namespace, name)
        if cached is None:
            return
        d = deep_copy(cached)
        ctx = self.context
        selector_spec = (d.get("spec") or {}).get("selector")
        if not selector_spec or (
            not selector_spec.get("matchLabels") and not selector_spec.get("matchExpressions")
        ):
            message = "This deployment is selecting all pods. A non-empty selector is required."
            await self.recorder.event(d, WARNING, "SelectingAll", message)
            generation = int(d["metadata"].get("generation") or 0)
            if int((d.get("status") or {}).get("observedGeneration") or 0) < generation:
                d.setdefault("status", {})["observedGeneration"] = generation
                await update_status(ctx, d)
            return
        rs_list = await self._claim_replica_sets(d)
        if d["metadata"].get("deletionTimestamp"):
            new_rs, old_rss = await get_all_replica_sets_and_sync_revision(ctx, d, rs_list, False)
            await sync_deployment_status(ctx, [*old_rss, *([new_rs] if new_rs else [])], new_rs, d)
            return
        await check_paused_conditions(ctx, d)
        if (d.get("spec") or {}).get("paused"):
            await sync_scale(ctx, d, rs_list)
            return
        if rollback_to(d) is not None:
            await rollback(ctx, d, rs_list)
            return
        if await is_scaling_event(ctx, d, rs_list):
            await sync_scale(ctx, d, rs_list)
            return
        if util.strategy_type(d) == "Recreate":
            await rollout_recreate(ctx, d, rs_list, self._pod_map(d, rs_list))
        else:
            await rollout_rolling(ctx, d, rs_list)

    async def _claim_replica_sets(self, d: JSON) -> list[JSON]:
        selector = selector_from_spec(d["spec"]["selector"])
        namespace = d["metadata"]["namespace"]
        owned = self.replica_sets.store.by_owner(d["metadata"]["uid"]) + self.replica_sets.store.orphans(
            namespace
        )
        unique = {rs["metadata"]["uid"]: rs for rs in owned}
        candidates = [rs for rs in unique.values() if rs["metadata"].get("namespace") == namespace]

        async def can_adopt() -> None:
            await recheck_owner(self.client, DEPLOYMENTS, d)

        return await claim(self.client, REPLICA_SETS, d, DEPLOYMENTS, selector, candidates, can_adopt)

    def _pod_map(self, d: JSON, rs_list: list[JSON]) -> dict[str, list[JSON]]:
        """Pods of each claimed RS, by RS uid (Recreate waits for the old ones to go)."""
        selector = selector_from_spec(d["spec"]["selector"])
        pod_map: dict[str, list[JSON]] = {rs["metadata"]["uid"]: [] for rs in rs_list}
        for rs in rs_list:
            for pod in self.pods.store.by_owner(rs["metadata"]["uid"]):
                ref = controller_ref(pod)
                if (
                    ref is not None
                    and ref.get("uid") == rs["metadata"]["uid"]
                    and selector.matches(pod["metadata"].get("labels"))
                ):
                    pod_map[rs["metadata"]["uid"]].append(pod)
        return pod_map
