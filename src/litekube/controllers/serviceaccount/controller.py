"""Every active namespace has a `default` ServiceAccount (clients wait for it).

Keys are namespace names: a namespace added or updated, or its `default` ServiceAccount
deleted, enqueues the namespace; `sync` creates the account when the cache lacks it.
A terminating namespace is skipped (the apiserver would refuse the create anyway).
"""

from __future__ import annotations

from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.resources import NAMESPACES, SERVICE_ACCOUNTS
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller
from litekube.machinery.informer import InformerFactory

DEFAULT_NAME = "default"


class ServiceAccountsController(Controller):
    name = "serviceaccount-controller"

    def __init__(self, client: Client, informers: InformerFactory, clock: Clock, workers: int = 1) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.namespaces = informers.informer(NAMESPACES)
        self.accounts = informers.informer(SERVICE_ACCOUNTS)
        self.namespaces.add_handlers(self.enqueue, lambda old, new: self.enqueue(new))
        self.accounts.add_handlers(on_delete=self._account_deleted)

    def _account_deleted(self, sa: JSON) -> None:
        meta = sa.get("metadata") or {}
        if meta.get("name") == DEFAULT_NAME and meta.get("namespace"):
            self.queue.add(meta["namespace"])

    async def sync(self, key: str) -> None:
        ns = self.namespaces.store.get_by_name(None, key)
        if (
            ns is None
            or ns["metadata"].get("deletionTimestamp")
            or (ns.get("status") or {}).get("phase") == "Terminating"
        ):
            return
        if self.accounts.store.get_by_name(key, DEFAULT_NAME) is not None:
            return
        try:
            await self.client.create(
                SERVICE_ACCOUNTS, {"metadata": {"name": DEFAULT_NAME, "namespace": key}}, key
            )
        except ApiError as e:
            if e.reason in ("AlreadyExists", "Forbidden") or e.not_found:
                return
            raise
