"""kwok-style simulated nodes: Nodes, Lease heartbeats and pods that run without processes.

`SimulatedNodes(client, clock, count)`:
- `start()` registers `count` Nodes (`sim-node-0`, …; an existing Node of that name is
  taken over), starts the heartbeat loop and the pod worker;
- the heartbeat loop renews each node's Lease in kube-node-lease every 10 s and rewrites
  the Node's status (heartbeat times) every `status_period` (60 s; the kubelet's
  nodeStatusReportFrequency is 5 min when nothing changes);
- `add_nodes(n)` registers n more nodes on a running cluster; `stop_heartbeats(name)`
  simulates a dead kubelet (for the node lifecycle controller);
- `SimulatedPodWorker` (in `pods.py`) makes the pods bound to these nodes run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.machinery.clock import Clock
from litekube.machinery.informer import InformerFactory
from litekube.node.lease import LEASE_NAMESPACE, lease_object
from litekube.node.simulated.pods import SimulatedPodWorker
from litekube.node.simulated.status import node_object, node_status

log = logging.getLogger(__name__)

LEASE_RENEW_INTERVAL = 10.0
STATUS_PERIOD = 60.0


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


NODES = _rt("", "v1", "nodes")
LEASES = _rt("coordination.k8s.io", "v1", "leases")
NAMESPACES = _rt("", "v1", "namespaces")


class SimulatedNodes:
    def __init__(
        self,
        client: Client,
        clock: Clock,
        count: int,
        name_prefix: str = "sim-node-",
        informers: InformerFactory | None = None,
        completion_delay: float = 1.0,
        status_period: float = STATUS_PERIOD,
        workers: int = 16,
    ) -> None:
        self.client = client
        self.clock = clock
        self.count = count
        self.name_prefix = name_prefix
        self.status_period = status_period
        self.informers = informers or InformerFactory(client, clock)
        self._own_informers = informers is None
        self.nodes: dict[str, int] = {}  # name -> index (addresses derive from it)
        self.silenced: set[str] = set()
        self._registered_at: dict[str, datetime] = {}
        self.pods = SimulatedPodWorker(client, self.informers, clock, self, completion_delay, workers)
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self._ensure_lease_namespace()
        await self.add_nodes(self.count)
        if self._own_informers:
            self.informers.start()
            await self.informers.wait_for_sync()
        await self.pods.start()
        self._tasks.append(
            asyncio.get_running_loop().create_task(self._heartbeat_loop(), name="sim-node-heartbeats")
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.pods.stop()
        if self._own_informers:
            await self.informers.stop()

    async def add_nodes(self, n: int) -> list[str]:
        """Register n more simulated nodes (numbered after the highest existing one)."""
        existing = await self.client.list(NODES)
        taken = set(self.nodes)
        indexes = [self._index_of(o["metadata"]["name"]) for o in existing.get("items") or ()]
        next_index = max([i for i in indexes if i is not None] + [-1, *self.nodes.values()]) + 1
        names = []
        for index in range(next_index, next_index + n):
            name = f"{self.name_prefix}{index}"
            if name in taken:
                continue
            await self.register(name, index)
            names.append(name)
        return names

    def stop_heartbeats(self, name: str) -> None:
        """Simulate a kubelet that died: no more Lease renewals or status updates."""
        self.silenced.add(name)

    def resume_heartbeats(self, name: str) -> None:
        self.silenced.discard(name)

    def _index_of(self, name: str) -> int | None:
        if not name.startswith(self.name_prefix):
            return None
        tail = name[len(self.name_prefix) :]
        return int(tail) if tail.isdigit() else None

    # --- registration and heartbeats ---------------------------------------------------

    async def _ensure_lease_namespace(self) -> None:
        try:
            await self.client.create(NAMESPACES, {"metadata": {"name": LEASE_NAMESPACE}})
        except ApiError as e:
            if not e.conflict:
                raise

    async def register(self, name: str, index: int) -> JSON:
        body = node_object(name, index)
        now = self.clock.now()
        try:
            node = await self.client.create(NODES, body)
        except ApiError as e:
            if not e.conflict:
                raise
            node = await self.client.get(NODES, name)
        # Status travels through /status: a create may drop it (and the fake always does).
        node["status"] = node_status(name, index, now, now)
        node = await self.client.update_status(NODES, node)
        self.nodes[name] = index
        self._registered_at[name] = now
        await self._renew_lease(node)
        return node

    async def _renew_lease(self, node: JSON) -> None:
        lease = lease_object(node, self.clock.now())
        name = node["metadata"]["name"]
        try:
            current = await self.client.get(LEASES, name, LEASE_NAMESPACE)
        except ApiError as e:
            if not e.not_found:
                raise
            await self.client.create(LEASES, lease, LEASE_NAMESPACE)
            return
        current["spec"] = lease["spec"]
        await self.client.update(LEASES, current)

    async def heartbeat(self, update_status: bool) -> None:
        """One round: renew every live node's Lease, and its status when asked."""
        for name, index in list(self.nodes.items()):
            if name in self.silenced:
                continue
            try:
                node = await self.client.get(NODES, name)
                if update_status:
                    since = self._registered_at.get(name) or self.clock.now()
                    node["status"] = node_status(name, index, self.clock.now(), since)
                    node = await self.client.update_status(NODES, node)
                await self._renew_lease(node)
            except ApiError as e:
                log.warning("simulated node %s: heartbeat failed: %s", name, e)

    async def _heartbeat_loop(self) -> None:
        since_status = 0.0
        while True:
            await self.clock.sleep(LEASE_RENEW_INTERVAL)
            since_status += LEASE_RENEW_INTERVAL
            update_status = since_status >= self.status_period
            if update_status:
                since_status = 0.0
            await self.heartbeat(update_status)


async def add_simulated_nodes(sim: SimulatedNodes, n: int) -> list[str]:
    """The CLI hook: add n simulated nodes to a running cluster; returns their names."""
    return await sim.add_nodes(n)
