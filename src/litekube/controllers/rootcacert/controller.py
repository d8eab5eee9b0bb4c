"""Every active namespace holds `kube-root-ca.crt` with the cluster CA (as upstream publishes it).

Pods use it to verify the API server (projected service-account volumes mount it). Keys
are namespace names: a namespace added or updated, or the ConfigMap changed or deleted,
enqueues the namespace; `sync` creates or repairs the ConfigMap from the cache's view.
"""

from __future__ import annotations

from litekube.api.resources import lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.resources import NAMESPACES
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory

ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters."
)
_CONFIG_MAPS = lookup("", "v1", "configmaps")
assert _CONFIG_MAPS is not None
CONFIG_MAPS = _CONFIG_MAPS


class RootCACertPublisher(Controller):
    name = "root-ca-cert-publisher"

    def __init__(
        self, client: Client, informers: InformerFactory, clock: Clock, ca_pem: str, workers: int = 1
    ) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.ca_pem = ca_pem
        self.namespaces = informers.informer(NAMESPACES)
        self.config_maps = informers.informer(CONFIG_MAPS)
        self.namespaces.add_handlers(self._namespace, lambda old, new: self._namespace(new))
        self.config_maps.add_handlers(
            on_update=lambda old, new: self._config_map(new), on_delete=self._config_map
        )

    def _namespace(self, ns: JSON) -> None:
        self.enqueue(ns)

    def _config_map(self, cm: JSON) -> None:
        meta = cm.get("metadata") or {}
        if meta.get("name") == ROOT_CA_CONFIG_MAP and meta.get("namespace"):
            self.queue.add(meta["namespace"])

    def _wanted(self, namespace: str) -> JSON:
        return {
            "metadata": {
                "name": ROOT_CA_CONFIG_MAP,
                "namespace": namespace,
                "annotations": {"kubernetes.io/description": DESCRIPTION},
            },
            "data": {"ca.crt": self.ca_pem},
        }

    async def sync(self, key: str) -> None:
        ns = self.namespaces.store.get_by_name(None, key)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        if (ns.get("status") or {}).get("phase") == "Terminating":
            return
        current = self.config_maps.store.get_by_name(key, ROOT_CA_CONFIG_MAP)
        try:
            if current is None:
                await self.client.create(CONFIG_MAPS, self._wanted(key), key)
            elif (current.get("data") or {}).get("ca.crt") != self.ca_pem:
                repaired = {**current, "data": {**(current.get("data") or {}), "ca.crt": self.ca_pem}}
                await self.client.update(CONFIG_MAPS, repaired)
        except ApiError as e:
            if e.reason in ("AlreadyExists", "Forbidden", "Conflict") or e.not_found:
                if e.conflict:
                    self.queue.add(key)
                return
            raise
