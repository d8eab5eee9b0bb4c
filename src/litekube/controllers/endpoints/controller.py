"""The Endpoints controller: keep each selector Service's Endpoints object in step with its pods.

Handlers: Service events → enqueue the Service; pod events → enqueue every Service in the
pod's namespace whose selector matches the pod (old or new labels).

`sync(key)`: Service gone → delete its Endpoints; no selector → leave Endpoints to the
user; else group backends (`addresses.backends`) by their resolved port set into subsets,
ready ones in `addresses`, not-ready ones in `notReadyAddresses` (terminating pods are left
out, as upstream does unless publishNotReadyAddresses), and create or update the Endpoints
when it changed. The `kubernetes` Service in `default` points at the API server instead:
its Endpoints and EndpointSlice are kept by `apiserver.py`; a change to either (a user
deleting the slice, say) brings it back.
"""

from __future__ import annotations

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.endpoints.addresses import Backend, backends, selects
from litekube.controllers.endpoints.apiserver import (
    ENDPOINT_SLICES,
    is_apiserver_service,
    sync_apiserver_endpoints,
)
from litekube.machinery.clock import Clock, rfc3339
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory, object_key, split_key


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


SERVICES = _rt("", "v1", "services")
ENDPOINTS = _rt("", "v1", "endpoints")
PODS = _rt("", "v1", "pods")
LAST_CHANGE = "endpoints.kubernetes.io/last-change-trigger-time"


class EndpointsController(Controller):
    name = "endpoints-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        api_address: str = "127.0.0.1",
        api_port: int = 6443,
    ) -> None:
        super().__init__(clock, workers=2)
        self.client = client
        self.api_address = api_address
        self.api_port = api_port
        self.services = informers.informer(SERVICES)
        self.pods = informers.informer(PODS)
        self.services.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handlers(
            self._pod_changed, lambda old, new: self._pod_changed(new, old), self._pod_changed
        )
        self.slices = informers.informer(ENDPOINT_SLICES)
        self.slices.add_handlers(None, lambda old, new: self._apiserver_object(new), self._apiserver_object)
        self.endpoints = informers.informer(ENDPOINTS)
        self.endpoints.add_handlers(
            None, lambda old, new: self._apiserver_object(new), self._apiserver_object
        )

    def _apiserver_object(self, obj: JSON) -> None:
        """Another writer touched the API server's own Endpoints or slice: put them back."""
        meta = obj["metadata"]
        labels = meta.get("labels") or {}
        if is_apiserver_service(meta.get("namespace"), meta["name"]) or (
            meta.get("namespace") == "default" and labels.get("kubernetes.io/service-name") == "kubernetes"
        ):
            self.queue.add("default/kubernetes")

    def _pod_changed(self, pod: JSON, old: JSON | None = None) -> None:
        namespace = pod["metadata"].get("namespace")
        for svc in self.services.store.list(namespace):
            if selects(svc, pod) or (old is not None and selects(svc, old)):
                self.queue.add(object_key(svc))

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.store.get(key)
        if service is None:
            try:
                await self.client.delete(ENDPOINTS, name, namespace)
            except ApiError as e:
                if not e.not_found:
                    raise
            return
        if is_apiserver_service(namespace, name):
            await sync_apiserver_endpoints(
                self.client, service, self.api_address, self.api_port, self.slices.store.list(namespace)
            )
            return
        if not (service.get("spec") or {}).get("selector"):
            return
        subsets = build_subsets(backends(service, self.pods.store.list(namespace)))
        await self._write(service, subsets)

    async def _write(self, service: JSON, subsets: list[JSON]) -> None:
        meta = service["metadata"]
        try:
            current = await self.client.get(ENDPOINTS, meta["name"], meta.get("namespace"))
        except ApiError as e:
            if not e.not_found:
                raise
            current = None
        labels = dict(meta.get("labels") or {})
        if current is not None:
            if (
                json_equal(current.get("subsets") or [], subsets)
                and (current["metadata"].get("labels") or {}) == labels
            ):
                return
            body = deep_copy(current)
            body["subsets"] = subsets
            body["metadata"]["labels"] = labels
            body["metadata"].setdefault("annotations", {})[LAST_CHANGE] = rfc3339(self.clock.now())
            if not subsets:
                body.pop("subsets", None)
            await self.client.update(ENDPOINTS, body)
            return
        body = {
            "metadata": {
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "labels": labels,
                "annotations": {LAST_CHANGE: rfc3339(self.clock.now())},
            },
        }
        if subsets:
            body["subsets"] = subsets
        await self.client.create(ENDPOINTS, body, meta.get("namespace"))


def build_subsets(found: list[Backend]) -> list[JSON]:
    """Group backends by identical port sets (upstream's RepackSubsets, simplified)."""
    groups: dict[tuple[tuple[str, int, str, str | None], ...], JSON] = {}
    for b in found:
        if b.terminating and not b.ready:
            continue
        if not b.ports:
            continue
        subset = groups.setdefault(b.ports, {"addresses": [], "notReadyAddresses": []})
        address: JSON = {"ip": b.ip, "targetRef": b.target_ref()}
        if b.node:
            address["nodeName"] = b.node
        subset["addresses" if b.ready else "notReadyAddresses"].append(address)
    subsets = []
    for ports, subset in sorted(groups.items()):
        out: JSON = {k: v for k, v in subset.items() if v}
        out["ports"] = [
            {"name": n, "port": p, "protocol": proto, **({"appProtocol": app} if app else {})}
            for n, p, proto, app in ports
        ]
        if not n_or_empty(out):
            continue
        subsets.append(out)
    return subsets


def n_or_empty(subset: JSON) -> bool:
    return bool(subset.get("addresses") or subset.get("notReadyAddresses"))
