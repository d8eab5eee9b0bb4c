"""The EndpointSlice controller: one or more IPv4 slices per selector Service.

Handlers as for Endpoints (Services, and pods matched by a Service's selector); slices we
manage are found by the labels `kubernetes.io/service-name` and
`endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`.

`sync(key)`: Service gone → its slices go (the ownerReference would also let the garbage
collector do it); no selector → nothing; else the backends (ready/serving/terminating,
nodeName, targetRef) are cut into chunks of at most 100 endpoints, grouped by resolved
port set; the existing slices are updated in order, missing ones created with
generateName `<service>-`, surplus ones deleted.
"""

from __future__ import annotations

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.endpoints.addresses import Backend, backends, selects
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory, object_key, split_key
from litekube.machinery.owners import new_controller_ref


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


SERVICES = _rt("", "v1", "services")
PODS = _rt("", "v1", "pods")
ENDPOINT_SLICES = _rt("discovery.k8s.io", "v1", "endpointslices")
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS = 100


class EndpointSliceController(Controller):
    name = "endpointslice-controller"

    def __init__(
        self, client: Client, informers: InformerFactory, clock: Clock, max_endpoints: int = MAX_ENDPOINTS
    ) -> None:
        super().__init__(clock, workers=2)
        self.client = client
        self.max_endpoints = max_endpoints
        self.services = informers.informer(SERVICES)
        self.pods = informers.informer(PODS)
        self.slices = informers.informer(ENDPOINT_SLICES)
        self.services.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handlers(
            self._pod_changed, lambda old, new: self._pod_changed(new, old), self._pod_changed
        )
        self.slices.add_handlers(None, lambda old, new: self._slice_changed(new), self._slice_changed)

    def _pod_changed(self, pod: JSON, old: JSON | None = None) -> None:
        for svc in self.services.store.list(pod["metadata"].get("namespace")):
            if selects(svc, pod) or (old is not None and selects(svc, old)):
                self.queue.add(object_key(svc))

    def _slice_changed(self, eps: JSON) -> None:
        labels = eps["metadata"].get("labels") or {}
        if labels.get(MANAGED_BY) == CONTROLLER_NAME and labels.get(SERVICE_NAME):
            self.queue.add(f"{eps['metadata'].get('namespace', '')}/{labels[SERVICE_NAME]}")

    def _existing(self, namespace: str | None, name: str) -> list[JSON]:
        found = []
        for eps in self.slices.store.list(namespace):
            labels = eps["metadata"].get("labels") or {}
            if labels.get(SERVICE_NAME) == name and labels.get(MANAGED_BY) == CONTROLLER_NAME:
                found.append(eps)
        return sorted(found, key=lambda e: e["metadata"]["name"])

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.store.get(key)
        existing = self._existing(namespace, name)
        if service is None or not (service.get("spec") or {}).get("selector"):
            for eps in existing:
                await self._delete(eps)
            return
        desired = self.desired_slices(service, backends(service, self.pods.store.list(namespace)))
        for current, want in zip(existing, desired, strict=False):
            if json_equal(current.get("endpoints") or [], want["endpoints"]) and json_equal(
                current.get("ports") or [], want["ports"]
            ):
                continue
            body = deep_copy(current)
            body["endpoints"], body["ports"] = want["endpoints"], want["ports"]
            body["metadata"]["labels"] = want["metadata"]["labels"]
            await self.client.update(ENDPOINT_SLICES, body)
        for want in desired[len(existing) :]:
            await self.client.create(ENDPOINT_SLICES, want, namespace)
        for eps in existing[len(desired) :]:
            await self._delete(eps)

    async def _delete(self, eps: JSON) -> None:
        try:
            await self.client.delete(
                ENDPOINT_SLICES, eps["metadata"]["name"], eps["metadata"].get("namespace")
            )
        except ApiError as e:
            if not e.not_found:
                raise

    def desired_slices(self, service: JSON, found: list[Backend]) -> list[JSON]:
        meta = service["metadata"]
        labels = {
            **(meta.get("labels") or {}),
            SERVICE_NAME: meta["name"],
            MANAGED_BY: CONTROLLER_NAME,
        }
        groups: dict[tuple[tuple[str, int, str, str | None], ...], list[JSON]] = {}
        for b in found:
            endpoint: JSON = {
                "addresses": [b.ip],
                "conditions": {"ready": b.ready, "serving": b.serving, "terminating": b.terminating},
                "targetRef": b.target_ref(),
            }
            if b.node:
                endpoint["nodeName"] = b.node
            groups.setdefault(b.ports, []).append(endpoint)
        if not groups:
            groups[()] = []  # a Service with no backends still gets one empty slice
        slices = []
        for ports, endpoints in sorted(groups.items()):
            chunks = [
                endpoints[i : i + self.max_endpoints] for i in range(0, len(endpoints), self.max_endpoints)
            ]
            for chunk in chunks or [[]]:
                slices.append(
                    {
                        "apiVersion": "discovery.k8s.io/v1",
                        "kind": "EndpointSlice",
                        "metadata": {
                            "generateName": f"{meta['name']}-",
                            "namespace": meta.get("namespace"),
                            "labels": labels,
                            "ownerReferences": [new_controller_ref(service, SERVICES)],
                        },
                        "addressType": "IPv4",
                        "endpoints": chunk,
                        "ports": [
                            {"name": n, "port": p, "protocol": proto, **({"appProtocol": a} if a else {})}
                            for n, p, proto, a in ports
                        ],
                    }
                )
        return slices
