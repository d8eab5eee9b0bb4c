"""The node agent's main object: registers the Node, heartbeats, and runs one worker per pod.

    start() ─▶ Node registered (capacity, addresses, nodeInfo, conditions) + kube-node-lease Lease
            ─▶ adopt.discover: containers/sandboxes/networks left by a previous run
            ─▶ informers: pods with spec.nodeName=<node> (a field-selected list+watch),
               services (for service-link env vars)
            ─▶ per pod uid a PodWorker task (pod_worker.py); admission first (allocatable)
            ─▶ heartbeat loop: Lease every 10 s, Node status every 60 s; log rotation
            (Events are written in the background once started: see EventRecorder.start)
    stop(cleanup=True) ─▶ every container stopped and removed, sandboxes, pod networks
            (and the bridge), tmpfs volumes and overlay mounts gone; cleanup=False leaves
            containers running for the next agent to adopt.

For the stream endpoints (logs/exec/attach/port-forward): `find_container(ns, pod,
container)` and `log_path(ns, pod, container, previous)` answer from the workers' memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from litekube.api.resources import ResourceType, lookup
from litekube.client.base import ApiError, Client, WatchEventDict
from litekube.machinery.clock import Clock, RealClock
from litekube.machinery.events import WARNING, EventRecorder
from litekube.machinery.informer import SharedInformer
from litekube.node.kubelet import adopt, node_status, termination
from litekube.node.kubelet.context import DirectoryRootfs, Images, NodeContext, Rootfs
from litekube.node.kubelet.pod_worker import PodWorker
from litekube.node.kubelet.probes import HostProber, Prober
from litekube.node.kubelet.resources import pod_requests, quantity
from litekube.node.kubelet.volumes import HostMounter, Mounter
from litekube.node.lease import LEASE_NAMESPACE, lease_object
from litekube.node.network.base import PodNetwork
from litekube.node.runtime import logs
from litekube.node.runtime.base import Runtime
from litekube.node.runtime.types import ContainerState, ContainerStatus

log = logging.getLogger(__name__)
JSON = dict[str, Any]
LEASE_RENEW_INTERVAL = 10.0
STATUS_INTERVAL = 60.0
LOG_MAX_SIZE = 10 * 2**20  # upstream's containerLogMaxSize default
LOG_MAX_FILES = 5
SHUTDOWN_GRACE = 10.0  # per pod when the agent itself stops


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


PODS = _rt("", "v1", "pods")
NODES = _rt("", "v1", "nodes")
LEASES = _rt("coordination.k8s.io", "v1", "leases")
NAMESPACES = _rt("", "v1", "namespaces")
SERVICES = _rt("", "v1", "services")


class _NodeScopedClient(Client):
    """The informer lists and watches through this: every pod request carries the node's
    field selector, as the kubelet's own reflector does."""

    def __init__(self, client: Client, field_selector: str) -> None:
        super().__init__(client.transport)
        self.field_selector = field_selector

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
    ) -> JSON:
        return await super().list(rt, namespace, label_selector, self.field_selector, resource_version)

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEventDict]:
        return super().watch(
            rt,
            namespace,
            resource_version,
            label_selector,
            self.field_selector,
            timeout_seconds,
            allow_bookmarks,
        )


class Kubelet:
    def __init__(
        self,
        client: Client,
        data_dir: Path,
        node_name: str,
        runtime: Runtime,
        network: PodNetwork,
        images: Images,
        *,
        clock: Clock | None = None,
        prober: Prober | None = None,
        mounter: Mounter | None = None,
        rootfs: Rootfs | None = None,
        host_ip: str | None = None,
        runtime_version: str = "unknown",
        capacity: tuple[JSON, JSON] | None = None,
        poll_interval: float = 1.0,
        pod_cidr: str = node_status.POD_CIDR,
        kubelet_port: int = node_status.KUBELET_PORT,
    ) -> None:
        clock = clock or RealClock()
        self.pod_cidr = pod_cidr  # the Node's spec.podCIDR when this kubelet creates it
        self.kubelet_port = kubelet_port
        self.client = client
        self.node_name = node_name
        self.runtime_version = runtime_version
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.capacity, self.allocatable = capacity or node_status.capacity(data_dir)
        self.ctx = NodeContext(
            client=client,
            runtime=runtime,
            network=network,
            images=images,
            rootfs=rootfs or DirectoryRootfs(),
            prober=prober or HostProber(runtime),
            mounter=mounter or HostMounter(),
            clock=clock,
            recorder=EventRecorder(client, "kubelet", clock, host=node_name),
            data_dir=data_dir,
            node_name=node_name,
            host_ip=host_ip or node_status.primary_ipv4(),
            allocatable=self.allocatable,
            poll_interval=poll_interval,
        )
        self.ctx.services = self._services
        self.pods = SharedInformer(_NodeScopedClient(client, f"spec.nodeName={node_name}"), PODS, clock)
        self.service_informer = SharedInformer(client, SERVICES, clock)
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.found = adopt.Found()
        self._loops: list[asyncio.Task[None]] = []
        self.node: JSON | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        # Events go out in the background from here on: a pod worker never waits on an
        # Event write between `runc create`, `runc start` and its status update.
        self.ctx.recorder.start()
        await self.register()
        self.found = await adopt.discover(self.ctx)
        self.pods.add_handlers(self._pod_changed, lambda _old, new: self._pod_changed(new), self._pod_deleted)
        self.service_informer.start()
        self.pods.start()
        await self.pods.wait_for_sync()
        keep = {p["metadata"]["uid"] for p in self.pods.store.list()}
        await adopt.remove_stray(self.ctx, self.found, keep)
        loop = asyncio.get_running_loop()
        self._loops.append(loop.create_task(self._heartbeat_loop(), name="kubelet-heartbeat"))

    async def stop(self, cleanup: bool = True) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops = []
        await self.pods.stop()
        await self.service_informer.stop()
        for task in self.tasks.values():
            task.cancel()
        for task in self.tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
        workers = list(self.workers.values())
        for worker in workers:
            for record in worker.records():
                record.stop_probes()
        if cleanup:
            results = await asyncio.gather(*(self._shutdown_pod(w) for w in workers), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    log.warning("kubelet shutdown: %s", result)
            # Whatever no worker owned (a pod not yet seen, a half-created container):
            # everything in this runtime's and network's state is ours to remove.
            try:
                await adopt.remove_stray(self.ctx, await adopt.discover(self.ctx), keep=set())
            except Exception as e:
                log.warning("kubelet shutdown: removing leftovers: %s", e)
            with contextlib.suppress(Exception):
                await self.ctx.network.cleanup_all()
        self.workers.clear()
        await self.ctx.recorder.stop()  # writes what is still queued

    async def _shutdown_pod(self, worker: PodWorker) -> None:
        await worker.observe()
        await termination.stop_all(worker, min(worker.grace_period(), SHUTDOWN_GRACE), announce=False)
        await termination.cleanup(worker)

    # -- node registration and heartbeats ------------------------------------------------

    async def register(self) -> JSON:
        with contextlib.suppress(ApiError):
            await self.client.create(NAMESPACES, {"metadata": {"name": LEASE_NAMESPACE}})
        try:
            node = await self.client.create(
                NODES, node_status.node_object(self.node_name, pod_cidr=self.pod_cidr)
            )
        except ApiError as e:
            if not e.conflict:
                raise
            node = await self.client.get(NODES, self.node_name)
        self.node = await self.update_node_status(node)
        await self.renew_lease()
        return self.node

    async def update_node_status(self, node: JSON | None = None) -> JSON:
        node = node or await self.client.get(NODES, self.node_name)
        info = node_status.node_info(self.node_name, self.runtime_version)
        node["status"] = node_status.node_status(
            self.node_name,
            self.capacity,
            self.allocatable,
            self.ctx.host_ip,
            info,
            self.ctx.clock.now(),
            node.get("status"),
            kubelet_port=self.kubelet_port,
        )
        self.node = await self.client.update_status(NODES, node)
        return self.node

    async def renew_lease(self) -> None:
        node = self.node or await self.client.get(NODES, self.node_name)
        lease = lease_object(node, self.ctx.clock.now())
        try:
            current = await self.client.get(LEASES, self.node_name, LEASE_NAMESPACE)
        except ApiError as e:
            if not e.not_found:
                raise
            await self.client.create(LEASES, lease, LEASE_NAMESPACE)
            return
        current["spec"] = lease["spec"]
        await self.client.update(LEASES, current)

    async def _heartbeat_loop(self) -> None:
        since_status = 0.0
        while True:
            await self.ctx.clock.sleep(LEASE_RENEW_INTERVAL)
            since_status += LEASE_RENEW_INTERVAL
            try:
                if since_status >= STATUS_INTERVAL:
                    since_status = 0.0
                    await self.update_node_status()
                await self.renew_lease()
                await self.rotate_logs()
            except Exception as e:  # keep beating: the API may be back next time
                log.warning("kubelet heartbeat: %s", e)

    async def rotate_logs(self) -> None:
        for worker in list(self.workers.values()):
            for record in list(worker.current.values()):
                status = record.status
                if status is None or status.log_path is None:
                    continue
                if logs.needs_rotation(status.log_path, LOG_MAX_SIZE):

                    async def reopen(container_id: str = record.id) -> None:
                        await self.ctx.runtime.reopen_log(container_id)

                    await logs.rotate_log(status.log_path, LOG_MAX_FILES, reopen)

    def _services(self, namespace: str) -> list[JSON]:
        services = list(self.service_informer.store.list(namespace))
        if namespace != "default":
            master = self.service_informer.store.get_by_name("default", "kubernetes")
            if master is not None:
                services.append(master)
        return services

    # -- pods ------------------------------------------------------------------------------

    def _pod_changed(self, pod: JSON) -> None:
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if worker is not None:
            worker.update(pod)
            return
        worker = PodWorker(self.ctx, pod)
        leftovers = self.found.pods.pop(uid, None)
        phase = (pod.get("status") or {}).get("phase")
        if leftovers is not None:
            self._restore(worker, leftovers)
        elif phase in ("Succeeded", "Failed"):
            worker.sandbox_released = True  # finished before this agent started: run nothing
            worker.completed_elsewhere = True
        else:
            self._admit(worker)
        self.workers[uid] = worker
        task = asyncio.get_running_loop().create_task(worker.run(), name=f"pod-{pod['metadata']['name']}")
        self.tasks[uid] = task
        task.add_done_callback(functools.partial(self._worker_done, uid))

    def _worker_done(self, uid: str, _task: asyncio.Task[None]) -> None:
        worker = self.workers.get(uid)
        if worker is not None and worker.finished:
            self.workers.pop(uid, None)
            self.tasks.pop(uid, None)

    def _restore(self, worker: PodWorker, leftovers: adopt.PodLeftovers) -> None:
        current, previous, extra = adopt.restore_records(leftovers.containers, self.ctx.clock.monotonic())
        worker.current, worker.previous = current, previous
        worker.sandbox_id = leftovers.sandbox_id
        worker.network = leftovers.network
        worker.stale = extra
        for name, record in current.items():
            spec = next((s for s in [*worker.specs()[0], *worker.specs()[1]] if s.get("name") == name), None)
            if (
                spec is not None
                and record.status is not None
                and record.status.state == ContainerState.RUNNING
            ):
                worker.start_probes(spec, record)

    def _pod_deleted(self, pod: JSON) -> None:
        worker = self.workers.get(pod["metadata"]["uid"])
        if worker is not None:
            worker.pod = {**worker.pod, "metadata": {**worker.pod["metadata"], **pod["metadata"]}}
            worker.removed_from_api()

    def _admit(self, worker: PodWorker) -> None:
        """Upstream's resource admission: requests of the pods admitted here must fit allocatable."""
        wanted = pod_requests(worker.pod)
        used: dict[str, Fraction] = {}
        for other in self.workers.values():
            if other is worker or other.rejected is not None or other.finished or other.sandbox_released:
                continue
            for name, value in pod_requests(other.pod).items():
                used[name] = used.get(name, Fraction(0)) + value
        for resource in ("cpu", "memory"):
            capacity = quantity(self.allocatable.get(resource)) or Fraction(0)
            requested = wanted.get(resource, Fraction(0))
            if requested and requested + used.get(resource, Fraction(0)) > capacity:
                scale = 1000 if resource == "cpu" else 1
                message = (
                    f"Node didn't have enough resource: {resource}, requested: {int(requested * scale)}, "
                    f"used: {int(used.get(resource, Fraction(0)) * scale)}, capacity: {int(capacity * scale)}"
                )
                worker.rejected = (f"OutOf{resource}", f"Pod was rejected: {message}")
                asyncio.get_running_loop().create_task(
                    self.ctx.recorder.event(worker.pod, WARNING, f"OutOf{resource}", message)
                )
                return

    # -- for the stream endpoints ------------------------------------------------------------

    def _worker_for(self, namespace: str, pod_name: str) -> PodWorker | None:
        for worker in self.workers.values():
            if worker.namespace == namespace and worker.name == pod_name and not worker.finished:
                return worker
        return None

    def find_container(
        self, namespace: str, pod_name: str, container_name: str
    ) -> tuple[str, ContainerStatus] | None:
        """The runtime id and last observed status of a pod's current container instance.

        Synchronous, from memory (the pod worker refreshes statuses every poll interval);
        None when the pod is not on this node or the container has no instance yet.
        """
        worker = self._worker_for(namespace, pod_name)
        record = worker.current.get(container_name) if worker is not None else None
        if record is None or record.status is None:
            return None
        return record.id, record.status

    def log_path(self, namespace: str, pod: str, container: str, previous: bool = False) -> Path | None:
        """The CRI log file of the current (or, with `previous`, the last exited) instance."""
        worker = self._worker_for(namespace, pod)
        if worker is None:
            return None
        record = (worker.previous if previous else worker.current).get(container)
        if record is None:
            return None
        path = worker.log_dir(container) / f"{record.attempt}.log"
        return path
