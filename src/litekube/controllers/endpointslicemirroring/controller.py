"""The EndpointSlice mirroring controller: hand-written Endpoints become EndpointSlices.

The "external database" pattern — a Service without a selector plus an Endpoints object
of the same name written by hand — only reaches the service proxy (which reads
EndpointSlices) through this controller, as upstream's endpointslicemirroring does.

Handlers: Endpoints and Service events enqueue `namespace/name`; an event on a slice we
manage (label `endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io`)
enqueues the `kubernetes.io/service-name` it is labelled with, so a slice edited or deleted
by someone else is put back.

`sync(key)`: the mirrored slices go when the Service is gone or has a selector (the
Endpoints and EndpointSlice controllers own that one), when the Endpoints are gone, carry
`endpointslice.kubernetes.io/skip-mirror: "true"` (the API server's own `kubernetes`
Endpoints) or are a leader-election lock. Otherwise `desired.py` groups the addresses by
(family, port set); per group the first existing slice is updated when its endpoints,
labels or annotations differ, further ones are deleted, a missing one is created with
generateName `<name>-`; slices of groups no longer wanted are deleted. Every slice carries
the Endpoints' labels (plus service-name and managed-by), its annotations (minus the
last-change trigger time and kubectl's last-applied configuration) and a controller
ownerReference to the Endpoints, so the garbage collector agrees with us.
"""

from __future__ import annotations

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.endpointslicemirroring.desired import (
    MAX_ENDPOINTS_PER_SUBSET,
    GroupKey,
    desired,
    ports_key,
)
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.events import WARNING, EventRecorder
from litekube.machinery.informer import InformerFactory, split_key
from litekube.machinery.owners import new_controller_ref


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


SERVICES = _rt("", "v1", "services")
ENDPOINTS = _rt("", "v1", "endpoints")
ENDPOINT_SLICES = _rt("discovery.k8s.io", "v1", "endpointslices")
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
NOT_COPIED = (
    "endpoints.kubernetes.io/last-change-trigger-time",
    "kubectl.kubernetes.io/last-applied-configuration",
)


class EndpointSliceMirroringController(Controller):
    name = "endpointslice-mirroring-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        max_endpoints_per_subset: int = MAX_ENDPOINTS_PER_SUBSET,
    ) -> None:
        super().__init__(clock, workers=2)
        self.client = client
        self.max_endpoints_per_subset = max_endpoints_per_subset
        self.recorder = EventRecorder(client, "endpoint-slice-mirroring-controller", clock)
        self.services = informers.informer(SERVICES)
        self.endpoints = informers.informer(ENDPOINTS)
        self.slices = informers.informer(ENDPOINT_SLICES)
        for informer in (self.services, self.endpoints):
            informer.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.slices.add_handlers(self._slice_changed, self._slice_updated, self._slice_changed)

    def _slice_updated(self, old: JSON, new: JSON) -> None:
        self._slice_changed(old)  # a slice that stops being ours (label edit) is looked at too
        self._slice_changed(new)

    def _slice_changed(self, eps: JSON) -> None:
        labels = eps["metadata"].get("labels") or {}
        if labels.get(MANAGED_BY) == CONTROLLER_NAME and labels.get(SERVICE_NAME):
            self.queue.add(f"{eps['metadata'].get('namespace', '')}/{labels[SERVICE_NAME]}")

    def _mirrored(self, namespace: str | None, name: str) -> list[JSON]:
        found = []
        for eps in self.slices.store.list(namespace):
            labels = eps["metadata"].get("labels") or {}
            if labels.get(SERVICE_NAME) == name and labels.get(MANAGED_BY) == CONTROLLER_NAME:
                found.append(eps)
        return sorted(found, key=lambda e: e["metadata"]["name"])

    def should_mirror(self, service: JSON | None, endpoints: JSON | None) -> bool:
        if service is None or endpoints is None:
            return False
        if (service.get("spec") or {}).get("selector"):
            return False
        meta = endpoints["metadata"]
        if (meta.get("labels") or {}).get(SKIP_MIRROR) == "true":
            return False
        return LEADER_ANNOTATION not in (meta.get("annotations") or {})

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        existing = self._mirrored(namespace, name)
        service = self.services.store.get(key)
        endpoints = self.endpoints.store.get(key)
        if endpoints is None or not self.should_mirror(service, endpoints):
            for eps in existing:
                await self._delete(eps)
            return
        want = desired(endpoints, self.max_endpoints_per_subset)
        await self._report_skipped(endpoints, want.invalid, want.skipped)
        by_key: dict[GroupKey, list[JSON]] = {}
        for eps in existing:
            by_key.setdefault((str(eps.get("addressType")), ports_key(eps.get("ports") or [])), []).append(
                eps
            )
        for gkey, group in sorted(want.groups.items()):
            current = by_key.pop(gkey, [])
            body = self.new_slice(endpoints, gkey[0], group.ports, group.endpoints)
            if not current:
                if not endpoints["metadata"].get("deletionTimestamp"):
                    await self.client.create(ENDPOINT_SLICES, body, namespace)
                continue
            first, surplus = current[0], current[1:]
            for eps in surplus:
                await self._delete(eps)
            await self._update_if_changed(first, body)
        for leftovers in by_key.values():
            for eps in leftovers:
                await self._delete(eps)

    def new_slice(self, endpoints: JSON, family: str, ports: list[JSON], items: list[JSON]) -> JSON:
        meta = endpoints["metadata"]
        labels = {**(meta.get("labels") or {}), SERVICE_NAME: meta["name"], MANAGED_BY: CONTROLLER_NAME}
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in NOT_COPIED}
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "generateName": f"{meta['name']}-",
                "namespace": meta.get("namespace"),
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [new_controller_ref(endpoints, ENDPOINTS)],
            },
            "addressType": family,
            "endpoints": items,
            "ports": ports,
        }

    async def _update_if_changed(self, current: JSON, want: JSON) -> None:
        meta, wmeta = current["metadata"], want["metadata"]
        if (
            json_equal(current.get("endpoints") or [], want["endpoints"])
            and json_equal(current.get("ports") or [], want["ports"])
            and (meta.get("labels") or {}) == wmeta["labels"]
            and (meta.get("annotations") or {}) == wmeta["annotations"]
            and json_equal(meta.get("ownerReferences") or [], wmeta["ownerReferences"])
        ):
            return
        body = deep_copy(current)
        body["endpoints"], body["ports"] = want["endpoints"], want["ports"]
        for field in ("labels", "annotations", "ownerReferences"):
            body["metadata"][field] = wmeta[field]
        await self.client.update(ENDPOINT_SLICES, body)

    async def _report_skipped(self, endpoints: JSON, invalid: int, skipped: int) -> None:
        # upstream's two Warning events, word for word
        if invalid:
            await self.recorder.event(
                endpoints,
                WARNING,
                "InvalidIPAddress",
                f"Skipped {invalid} invalid IP addresses when mirroring to EndpointSlices",
            )
        if skipped > invalid:
            await self.recorder.event(
                endpoints,
                WARNING,
                "TooManyAddressesToMirror",
                f"A max of {self.max_endpoints_per_subset} addresses can be mirrored to EndpointSlices "
                f"per Endpoints subset. {skipped} addresses were skipped",
            )

    async def _delete(self, eps: JSON) -> None:
        try:
            await self.client.delete(
                ENDPOINT_SLICES, eps["metadata"]["name"], eps["metadata"].get("namespace")
            )
        except ApiError as e:
            if not e.not_found:
                raise
