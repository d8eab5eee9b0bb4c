"""The namespace controller: empty a namespace being deleted, then let it go.

Deleting a namespace only sets its deletionTimestamp and phase Terminating; the
`kubernetes` entry in spec.finalizers keeps it. `sync(name)` for such a namespace:
1. deletes every object of every namespaced type in it (background propagation);
2. records progress in status.conditions as upstream does (NamespaceDeletionContentFailure,
   NamespaceContentRemaining "Some resources are remaining: pods. has 3 objects",
   NamespaceFinalizersRemaining, ...);
3. while anything remains (graceful pod deletion, finalizers), looks again after a delay;
4. when empty, PUTs the `finalize` subresource without `kubernetes` in spec.finalizers,
   after which the apiserver removes the namespace.
"""

from __future__ import annotations

from collections.abc import Sequence

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import RESOURCE_TYPES, ResourceType
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.resources import NAMESPACES
from litekube.machinery.clock import Clock, rfc3339
from litekube.machinery.controller import Controller, RequeueAfter
from litekube.machinery.informer import InformerFactory

FINALIZER = "kubernetes"
REMAINING_RECHECK_SECONDS = 2.0

NAMESPACED_RESOURCES: tuple[ResourceType, ...] = tuple(
    rt for rt in RESOURCE_TYPES if rt.namespaced and "delete" in rt.verbs and rt.group != "events.k8s.io"
)


class NamespaceController(Controller):
    name = "namespace-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        resources: Sequence[ResourceType] = NAMESPACED_RESOURCES,
        workers: int = 10,
    ) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.resources = resources
        self.namespaces = informers.informer(NAMESPACES)
        self.namespaces.add_handlers(self._changed, lambda old, new: self._changed(new))

    def _changed(self, ns: JSON) -> None:
        if ns["metadata"].get("deletionTimestamp"):
            self.enqueue(ns)

    async def sync(self, key: str) -> None:
        cached = self.namespaces.store.get_by_name(None, key)
        if cached is None or not cached["metadata"].get("deletionTimestamp"):
            return
        if FINALIZER not in ((cached.get("spec") or {}).get("finalizers") or []):
            return
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        failures: list[str] = []
        for rt in self.resources:
            try:
                items = (await self.client.list(rt, key)).get("items") or []
            except ApiError as e:
                failures.append(f"{rt.group_resource}: {e}")
                continue
            for obj in items:
                meta = obj.get("metadata") or {}
                for f in meta.get("finalizers") or ():
                    finalizers[f] = finalizers.get(f, 0) + 1
                if meta.get("deletionTimestamp"):
                    continue
                try:
                    await self.client.delete(rt, meta["name"], key, propagation_policy="Background")
                except ApiError as e:
                    if not e.not_found:
                        failures.append(f"{rt.group_resource} {meta['name']}: {e}")
            if items:
                still = (await self.client.list(rt, key)).get("items") or []
                if still:
                    remaining[rt.group_resource] = len(still)
        await self._update_conditions(cached, remaining, finalizers, failures)
        if remaining or failures:
            raise RequeueAfter(REMAINING_RECHECK_SECONDS)
        body = deep_copy(await self.client.get(NAMESPACES, key))
        body.setdefault("spec", {})["finalizers"] = [
            f for f in body["spec"].get("finalizers") or [] if f != FINALIZER
        ]
        code, result = await self.client.transport.request(
            "PUT", NAMESPACES.path(None, key) + "/finalize", None, body
        )
        if code >= 300 and code != 404:
            raise ApiError(code, result if isinstance(result, dict) else {"message": str(result)})

    async def _update_conditions(
        self, ns: JSON, remaining: dict[str, int], finalizers: dict[str, int], failures: list[str]
    ) -> None:
        now = rfc3339(self.clock.now())

        def cond(type_: str, status: str, reason: str, message: str) -> JSON:
            return {
                "type": type_,
                "status": status,
                "lastTransitionTime": now,
                "reason": reason,
                "message": message,
            }

        conditions = [
            cond(
                "NamespaceDeletionDiscoveryFailure",
                "False",
                "ResourcesDiscovered",
                "All resources successfully discovered",
            ),
            cond(
                "NamespaceDeletionGroupVersionParsingFailure",
                "False",
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed",
            ),
            cond(
                "NamespaceDeletionContentFailure",
                "True" if failures else "False",
                "ContentDeletionFailed" if failures else "ContentDeleted",
                f"Failed to delete all resource types, {len(failures)} remaining: {', '.join(failures)}"
                if failures
                else "All content successfully deleted, may be waiting on finalization",
            ),
            cond(
                "NamespaceContentRemaining",
                "True" if remaining else "False",
                "SomeResourcesRemain" if remaining else "ContentRemoved",
                "Some resources are remaining: "
                + ", ".join(f"{name} has {n} resource instances" for name, n in sorted(remaining.items()))
                if remaining
                else "All content successfully removed",
            ),
            cond(
                "NamespaceFinalizersRemaining",
                "True" if finalizers else "False",
                "SomeFinalizersRemain" if finalizers else "ContentHasNoFinalizers",
                "Some content in the namespace has finalizers remaining: "
                + ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
                if finalizers
                else "All content-preserving finalizers finished",
            ),
        ]
        status = ns.get("status") or {}
        old = {c["type"]: c for c in status.get("conditions") or []}
        merged = []
        for c in conditions:
            previous = old.get(c["type"])
            if previous is not None and all(previous.get(k) == c[k] for k in ("status", "reason", "message")):
                merged.append(previous)
            else:
                merged.append(c)
        if json_equal(merged, status.get("conditions") or []) and status.get("phase") == "Terminating":
            return
        body = deep_copy(ns)
        body["status"] = {**status, "phase": "Terminating", "conditions": merged}
        try:
            await self.client.update_status(NAMESPACES, body)
        except ApiError as e:
            if not (e.not_found or e.conflict):
                raise
