"""ServiceProxy: Services + EndpointSlices (informer caches) → model → nftables, level-driven.

Flow:

    informer events (services, endpointslices) ─► wake.set()       (handlers only signal)
    sync loop: wait(wake) → sync() → sleep(sync_min_interval) → wait again
    sync(): build_model(caches) → render() → identical text as last time? stop
                                            → NftApplier.apply() (one nft transaction)
            then LoadBalancer status: ingress = this node's addresses (k3s ServiceLB style)

Events arriving during a sync set `wake` again, so the next sync starts right after the
rate-limit pause: a change is live within sync_min_interval + one sync. A failed apply is
retried after a second (the applier then replaces the whole table).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
from collections.abc import Iterable

from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, Client
from litekube.machinery.clock import Clock, RealClock
from litekube.machinery.informer import InformerFactory
from litekube.proxy.apply import NftApplier
from litekube.proxy.model import build_model
from litekube.proxy.rules import render

log = logging.getLogger(__name__)


def _rt(group: str, plural: str) -> ResourceType:
    rt = lookup(group, "v1", plural)
    assert rt is not None
    return rt


SERVICES = _rt("", "services")
ENDPOINT_SLICES = _rt("discovery.k8s.io", "endpointslices")


class ServiceProxy:
    def __init__(
        self,
        client: Client,
        node_addresses: list[str],
        clock: Clock,
        sync_min_interval: float = 0.1,
        *,
        node_name: str | None = None,
        cluster_cidr: str | None = "10.244.0.0/16",
        table: str = "litekube",
        applier: NftApplier | None = None,
        informers: InformerFactory | None = None,
        exclude_ips: Iterable[str] = (),
        manage_load_balancers: bool = True,
    ) -> None:
        self.client = client
        self.node_addresses = list(node_addresses)
        self.clock = clock
        self.sync_min_interval = sync_min_interval
        self.node_name = node_name
        self.cluster_cidr = cluster_cidr
        self.table = table
        self.applier = applier or NftApplier()
        self._own_informers = informers is None
        self.informers = informers or InformerFactory(client, clock)
        self.exclude_ips = tuple(exclude_ips)
        self.manage_load_balancers = manage_load_balancers
        self.services = self.informers.informer(SERVICES)
        self.slices = self.informers.informer(ENDPOINT_SLICES)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_text: str | None = None
        self.syncs = 0  # applies that reached the kernel
        self.last_sync_seconds = 0.0

    async def start(self) -> None:
        for informer in (self.services, self.slices):
            informer.add_handlers(self._on_event, self._on_update, self._on_event)
        # starting an informer twice is a no-op: safe with a shared factory, started or not
        self.services.start()
        self.slices.start()
        await asyncio.gather(self.services.wait_for_sync(), self.slices.wait_for_sync())
        self._wake.set()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="service-proxy")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_informers:
            await self.informers.stop()
        await self.applier.remove()
        self._last_text = None

    def _on_event(self, obj: JSON) -> None:
        self._wake.set()

    def _on_update(self, old: JSON, new: JSON) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("service proxy sync failed; retrying in 1s")
                self._wake.set()
                await self.clock.sleep(1.0)
                continue
            await self.clock.sleep(self.sync_min_interval)

    async def sync(self) -> bool:
        """Bring the table and LoadBalancer statuses in line with the caches; True if rules changed."""
        started = time.perf_counter()
        services = self.services.store.list()
        ports = build_model(
            services, self.slices.store.list(), self.node_name, self.node_addresses, self.exclude_ips
        )
        ruleset = render(ports, self.node_addresses, self.cluster_cidr, self.table)
        text = ruleset.to_text()
        changed = text != self._last_text
        if changed:
            await self.applier.apply(ruleset)
            self._last_text = text
            self.syncs += 1
            self.last_sync_seconds = time.perf_counter() - started
        if self.manage_load_balancers:
            await self._sync_load_balancers(services)
        return changed

    async def _sync_load_balancers(self, services: list[JSON]) -> None:
        want = [{"ip": ip, "ipMode": "VIP"} for ip in (self.node_addresses or ["127.0.0.1"])]
        for service in services:
            spec = service.get("spec") or {}
            ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            target = want if spec.get("type") == "LoadBalancer" else []
            if ingress == target:
                continue
            meta = service.get("metadata") or {}
            # merge patch: a list is replaced whole; null removes the field
            patch = {"status": {"loadBalancer": {"ingress": target or None}}}
            try:
                await self.client.patch(
                    SERVICES, meta["name"], patch, meta.get("namespace"), subresource="status"
                )
            except Exception as e:  # the next sync (any event) tries again
                log.warning(
                    "cannot set load balancer status of %s/%s: %s", meta.get("namespace"), meta["name"], e
                )


def node_ipv4_addresses(
    exclude_prefixes: tuple[str, ...] = ("litekube", "cni", "veth", "docker"),
) -> list[str]:
    """The host's global IPv4 addresses, skipping interfaces litekube or containers made."""
    try:
        out = subprocess.run(
            ["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.splitlines():
        words = line.split()  # "2: eth0    inet 192.0.2.2/24 brd ... scope global eth0"
        if len(words) >= 4 and words[2] == "inet" and not words[1].startswith(exclude_prefixes):
            found.append(words[3].split("/")[0])
    return found


def build_proxy(
    client: Client,
    *,
    node_name: str | None = None,
    node_addresses: list[str] | None = None,
    cluster_cidr: str = "10.244.0.0/16",
    clock: Clock | None = None,
    informers: InformerFactory | None = None,
    dns_ip: str = "10.96.0.10",
) -> ServiceProxy:
    """The proxy as the server runs it: table `litekube`, this node's addresses, the DNS IP left
    to ClusterDNS (a kube-dns Service with that ClusterIP is not DNAT-ed)."""
    return ServiceProxy(
        client,
        node_addresses if node_addresses is not None else node_ipv4_addresses(),
        clock or RealClock(),
        node_name=node_name,
        cluster_cidr=cluster_cidr,
        informers=informers,
        exclude_ips=[dns_ip],
    )
