"""One pod on this node, driven to its desired state by `sync()` (level-driven).

    sync ─▶ deletionTimestamp / gone from the API? ─▶ termination.terminate (then done)
         ─▶ rejected at admission? ─▶ write Failed status, nothing runs
         ─▶ sandbox: CNI network + pinned IPC/UTS namespaces (no pause process) + /etc/hosts,
            resolv.conf, hostname
         ─▶ volumes (again every `volume_refresh` for live configMap/secret updates)
         ─▶ observe: runtime status of every current container
         ─▶ init containers in order (sidecars — restartPolicy Always — started and kept
            running; a regular one must exit 0 before the next starts)
         ─▶ app containers: start what is missing, restart what exited per restartPolicy
            with back-off (CrashLoopBackOff), kill what failed liveness/startup
         ─▶ pod finished (Succeeded/Failed)? stop sidecars, free sandbox and IP
         ─▶ status.py → PUT pods/x/status when it changed
`sync` returns how long the loop may sleep; probe flips, informer updates and the
kubelet's polling wake it earlier. One task per pod runs `run()`; nothing else calls
`sync` concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

import orjson

from litekube.api.patch import deep_copy
from litekube.api.resources import lookup
from litekube.client.base import ApiError
from litekube.machinery.clock import rfc3339
from litekube.node.kubelet import events, termination
from litekube.node.kubelet.containers import PodFiles
from litekube.node.kubelet.context import ContainerRecord, NodeContext
from litekube.node.kubelet.probes import FAILURE, SUCCESS, ProbeWorker
from litekube.node.kubelet.start import crash_loop_message, start_container
from litekube.node.kubelet.status import (
    ContainerView,
    pod_status,
)
from litekube.node.kubelet.tokens import PodTokens
from litekube.node.kubelet.views import container_views
from litekube.node.kubelet.volumes import VolumeError, setup_volumes
from litekube.node.network.base import NetworkError, PodNetworkStatus, PodRef, PortMapping
from litekube.node.network.dns_files import pod_hostname, write_pod_dns_files
from litekube.node.runtime.base import ContainerNotFound, RuntimeFailure
from litekube.node.runtime.types import ContainerState

log = logging.getLogger(__name__)
JSON = dict[str, Any]
_PODS = lookup("", "v1", "pods")
assert _PODS is not None
PODS = _PODS
HOST_NETNS = "/proc/1/ns/net"


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: JSON) -> None:
        self.ctx = ctx
        self.pod = pod
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.name: str = meta["name"]
        self.namespace: str = meta.get("namespace") or "default"
        self.pod_dir = ctx.pods_dir() / self.uid
        self.hostname = pod_hostname(pod)
        self.sandbox_id: str | None = None
        self.network: PodNetworkStatus | None = None
        self.volumes: dict[str, Path] | None = None
        self.volumes_at = -1e18
        self.tokens = PodTokens(ctx.client)  # projected service-account tokens, renewed on refresh
        self.files = PodFiles()
        self.current: dict[str, ContainerRecord] = {}
        self.previous: dict[str, ContainerRecord] = {}
        self.waiting: dict[str, tuple[str, str]] = {}
        self.pull_errors: dict[str, str] = {}
        self.rejected: tuple[str, str] | None = None
        self.gone_from_api = False
        self.finished = False  # terminated and cleaned up: the worker may be dropped
        self.sandbox_released = False
        self.last_status: JSON | None = None
        # the pod had finished before this agent saw it: report nothing, run nothing
        self.completed_elsewhere = False
        # container instances found at adoption that are older than `previous`
        self.stale: list[ContainerRecord] = []
        self._wake = asyncio.Event()

    # -- helpers used by start.py and termination.py ----------------------------------

    @property
    def pod_ip(self) -> str:
        return self.network.ip if self.network else ""

    @property
    def pod_text(self) -> str:
        return events.format_pod(self.name, self.namespace, self.uid)

    def log_dir(self, container: str) -> Path:
        return self.pod_dir / "logs" / container

    def set_waiting(self, container: str, reason: str, message: str = "") -> bool:
        """Record why a container waits; True when that is news (callers then send events,
        so a back-off looked at every poll does not send an event every poll)."""
        changed = self.waiting.get(container) != (reason, message)
        self.waiting[container] = (reason, message)
        return changed

    def clear_waiting(self, container: str) -> None:
        self.waiting.pop(container, None)

    async def event(self, type_: str, reason: str, message: str) -> None:
        await self.ctx.recorder.event(self.pod, type_, reason, message)

    async def fetch(self, kind: str, namespace: str, name: str) -> JSON | None:
        rt = lookup("", "v1", "configmaps" if kind == "configmap" else "secrets")
        assert rt is not None
        try:
            return await self.ctx.client.get(rt, name, namespace)
        except ApiError as e:
            if e.not_found:
                return None
            raise

    def grace_period(self) -> float:
        meta = self.pod.get("metadata") or {}
        if meta.get("deletionGracePeriodSeconds") is not None:
            return float(meta["deletionGracePeriodSeconds"])
        value = (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return float(value) if value is not None else 30.0

    def specs(self) -> tuple[list[JSON], list[JSON]]:
        spec = self.pod.get("spec") or {}
        return list(spec.get("initContainers") or []), list(spec.get("containers") or [])

    def wake(self) -> None:
        self._wake.set()

    def update(self, pod: JSON) -> None:
        self.pod = pod
        self.wake()

    def removed_from_api(self) -> None:
        self.gone_from_api = True
        self.wake()

    def records(self) -> list[ContainerRecord]:
        return [*self.current.values(), *self.previous.values()]

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        delay = 0.0
        while not self.finished:
            self._wake.clear()
            try:
                delay = await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pod %s/%s: sync failed", self.namespace, self.name)
                delay = 2.0
            if self.finished:
                break
            waker = asyncio.ensure_future(self._wake.wait())
            sleeper = asyncio.ensure_future(self.ctx.clock.sleep(min(delay, self.ctx.poll_interval)))
            try:
                await asyncio.wait({waker, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (waker, sleeper):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def terminating(self) -> bool:
        return self.gone_from_api or bool((self.pod.get("metadata") or {}).get("deletionTimestamp"))

    async def sync(self) -> float:
        if self.finished:
            return 3600.0
        if self.terminating():
            await termination.terminate(self)
            return 3600.0
        if self.rejected is not None:
            await self.write_status(self.rejected_status())
            return 3600.0
        if self.completed_elsewhere:
            return 3600.0
        while self.stale:
            await self.retire(self.stale.pop())
        await self.observe()
        if self.phase_done():
            await termination.release_sandbox(self)
            await self.write_status(self.compute_status())
            return 3600.0
        if not await self.ensure_sandbox() or not await self.ensure_volumes():
            await self.write_status(self.compute_status())
            return 2.0
        delay = await self.sync_containers()
        await self.write_status(self.compute_status())
        return delay

    # -- sandbox and volumes -------------------------------------------------------------

    def port_mappings(self) -> list[PortMapping]:
        mappings = []
        for container in self.specs()[1]:
            for port in container.get("ports") or ():
                if port.get("hostPort"):
                    mappings.append(
                        PortMapping(
                            int(port.get("containerPort", 0)),
                            int(port["hostPort"]),
                            port.get("protocol") or "TCP",
                            port.get("hostIP") or "",
                        )
                    )
        return mappings

    async def ensure_sandbox(self) -> bool:
        if self.sandbox_id is not None and self.network is not None:
            return True
        try:
            if (self.pod.get("spec") or {}).get("hostNetwork"):
                # the host's own network namespace: no CNI, the pod IP is the node's
                self.network = PodNetworkStatus(self.uid, HOST_NETNS, self.ctx.host_ip, gateway="")
            elif self.network is None:
                self.network = await self.ctx.network.setup(
                    PodRef(self.uid, self.namespace, self.name), self.port_mappings()
                )
            hosts, resolv, _warnings = write_pod_dns_files(self.pod_dir, self.pod, [self.network.ip])
            hostname_file = self.pod_dir / "hostname"
            hostname_file.write_text(self.hostname + "\n")
            self.files = PodFiles(hosts, resolv, hostname_file)
            if self.sandbox_id is None:
                # (the real runtime pins the pod's IPC and UTS namespaces: no process to start)
                self.sandbox_id = await self.ctx.runtime.create_sandbox(
                    self.uid, self.name, self.namespace, self.hostname, self.network.netns_path
                )
                self.save_state()
        except (NetworkError, RuntimeFailure, OSError) as e:
            await self.event(*events.failed_sandbox(str(e)))
            return False
        return True

    def save_state(self) -> None:
        """What adopt.py needs after an agent restart: the sandbox of this pod."""
        self.pod_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "uid": self.uid,
            "name": self.name,
            "namespace": self.namespace,
            "sandbox_id": self.sandbox_id,
        }
        (self.pod_dir / "kubelet-state.json").write_bytes(orjson.dumps(state))

    async def ensure_volumes(self) -> bool:
        now = self.ctx.clock.monotonic()
        if self.volumes is not None and now - self.volumes_at < self.ctx.volume_refresh:
            return True
        try:
            self.volumes = await setup_volumes(
                self.pod, self.pod_dir, self.fetch, self.ctx.mounter, self, self.tokens
            )
        except VolumeError as e:
            await self.event(*events.failed_mount(e.volume, str(e)))
            return self.volumes is not None  # a failed refresh keeps the old files
        except OSError as e:
            await self.event(*events.failed_mount("", str(e)))
            return self.volumes is not None
        self.volumes_at = now
        return True

    # The HostFacts protocol for volumes.py (downward API items).
    @property
    def host_ip(self) -> str:
        return self.ctx.host_ip

    @property
    def node_allocatable(self) -> JSON:
        return self.ctx.allocatable

    # -- observing and running containers ------------------------------------------------

    async def observe(self) -> None:
        for record in list(self.current.values()):
            try:
                status = await self.ctx.runtime.status(record.id)
            except ContainerNotFound:
                self.current.pop(record.name, None)
                continue
            if status.state == ContainerState.RUNNING and record.started_monotonic == 0.0:
                record.started_monotonic = self.ctx.clock.monotonic()
            if status.state == ContainerState.EXITED:
                record.stop_probes()
            record.status = status

    def _exited(self, record: ContainerRecord | None) -> bool:
        return (
            record is not None and record.status is not None and record.status.state == ContainerState.EXITED
        )

    def _running(self, record: ContainerRecord | None) -> bool:
        return (
            record is not None and record.status is not None and record.status.state == ContainerState.RUNNING
        )

    def started(self, record: ContainerRecord | None) -> bool:
        if not self._running(record):
            return False
        assert record is not None
        startup = record.probes.get("startup")
        return startup is None or startup.result == SUCCESS

    def ready(self, record: ContainerRecord | None) -> bool:
        if not self.started(record):
            return False
        assert record is not None
        readiness = record.probes.get("readiness")
        return readiness is None or readiness.result == SUCCESS

    def should_restart(self, record: ContainerRecord, kind: str) -> bool:
        """Sidecars always restart; a regular init container only after a failure (unless
        the pod's policy is Never); app containers per restartPolicy."""
        if kind == "sidecar":
            return True
        policy = (self.pod.get("spec") or {}).get("restartPolicy") or "Always"
        exit_code = record.status.exit_code if record.status else None
        if kind == "init":
            return exit_code != 0 and policy != "Never"
        if policy == "Always":
            return True
        return policy == "OnFailure" and exit_code != 0

    async def run_container(self, spec: JSON, kind: str) -> float:
        """Start, keep or restart one container; returns the delay before another look."""
        name = spec.get("name", "")
        record = self.current.get(name)
        if record is not None and self._running(record):
            await self.check_liveness(spec, record)
            return self.ctx.poll_interval
        if record is not None and not self._exited(record):
            return self.ctx.poll_interval  # created, not yet running
        attempt = 0
        if record is not None:
            if not self.should_restart(record, kind):
                return 3600.0
            key = f"{self.uid}/{name}"
            finished = record.status.finished_at if record.status else None
            finished_at = finished.timestamp() if finished else self.ctx.clock.now().timestamp()
            now = self.ctx.clock.now().timestamp()
            backoff = self.ctx.restart_backoff
            if backoff.in_backoff_since(key, finished_at, now):
                message = crash_loop_message(backoff.get(key), name, self.pod_text)
                if self.set_waiting(name, "CrashLoopBackOff", message):
                    await self.event(*events.restart_backoff(name, self.pod_text))
                return max(backoff.remaining(key, finished_at, now), 0.05)
            backoff.next(key, finished_at)
            attempt = record.attempt + 1
        new = await start_container(self, spec, attempt)
        if new is None:
            return 2.0
        if record is not None:
            await self.retire(self.previous.pop(name, None))
            self.previous[name] = record
        self.current[name] = new
        with contextlib.suppress(RuntimeFailure):
            new.status = await self.ctx.runtime.status(new.id)
        self.start_probes(spec, new)
        return self.ctx.poll_interval

    async def retire(self, record: ContainerRecord | None) -> None:
        """Remove an old container instance for good (runtime, rootfs, bundle, log)."""
        if record is None:
            return
        record.stop_probes()
        with contextlib.suppress(RuntimeFailure):
            await self.ctx.runtime.remove(record.id)
        container_dir = self.pod_dir / "containers" / record.id
        self.ctx.rootfs.unmount(container_dir)
        shutil.rmtree(container_dir, ignore_errors=True)
        (self.log_dir(record.name) / f"{record.attempt}.log").unlink(missing_ok=True)

    async def sync_containers(self) -> float:
        init_specs, main_specs = self.specs()
        delays = [self.ctx.poll_interval * 10]
        for spec in init_specs:
            sidecar = spec.get("restartPolicy") == "Always"
            delays.append(await self.run_container(spec, "sidecar" if sidecar else "init"))
            record = self.current.get(spec.get("name", ""))
            if sidecar:
                if not self.started(record):
                    return min(delays)
                continue
            if not (
                self._exited(record) and record is not None and record.status and record.status.exit_code == 0
            ):
                return min(delays)
        for spec in main_specs:
            delays.append(await self.run_container(spec, "main"))
        return min(delays)

    # -- probes --------------------------------------------------------------------------

    def start_probes(self, spec: JSON, record: ContainerRecord) -> None:
        started_at = record.started_monotonic or self.ctx.clock.monotonic()
        startup = None
        for kind in ("startup", "liveness", "readiness"):
            probe = spec.get(f"{kind}Probe")
            if not probe:
                continue

            def gate(startup: ProbeWorker | None = startup) -> bool:
                return startup is None or startup.result == SUCCESS

            worker = ProbeWorker(
                kind,
                probe,
                spec,
                record.id,
                self.pod_ip,
                self.ctx.prober,
                self.ctx.clock,
                started_at,
                self.on_probe_result,
                gate if kind != "startup" else (lambda: True),
            )
            if kind == "startup":
                startup = worker
            record.probes[kind] = worker
            record.probe_tasks.append(asyncio.get_running_loop().create_task(worker.run(self.wake)))

    async def on_probe_result(self, kind: str, result: str, output: str) -> None:
        if result == FAILURE:
            await self.event(*events.unhealthy(kind, output))

    async def check_liveness(self, spec: JSON, record: ContainerRecord) -> None:
        for kind in ("startup", "liveness"):
            worker = record.probes.get(kind)
            if worker is None or worker.result != FAILURE or not worker.on_hold or record.killed_for:
                continue
            record.killed_for = kind
            name = spec.get("name", "")
            await self.event(
                *events.killing(name, f"Container {name} failed {kind} probe, will be restarted")
            )
            grace = worker.termination_grace
            await termination.stop_container(
                self, spec, record, grace if grace is not None else self.grace_period()
            )
            await self.observe()
            return

    # -- status --------------------------------------------------------------------------

    def phase_done(self) -> bool:
        init, main = self.views()
        phase = pod_status(
            self.pod, init, main, now=self.ctx.clock.now(), host_ip="", pod_ip="", sandbox_ready=True
        )["phase"]
        return phase in ("Succeeded", "Failed")

    def views(self) -> tuple[list[ContainerView], list[ContainerView]]:
        return container_views(self)

    def compute_status(self) -> JSON:
        init, main = self.views()
        return pod_status(
            self.pod,
            init,
            main,
            now=self.ctx.clock.now(),
            host_ip=self.ctx.host_ip,
            pod_ip=self.pod_ip or ((self.pod.get("status") or {}).get("podIP") or ""),
            sandbox_ready=self.sandbox_id is not None and not self.sandbox_released,
        )

    def rejected_status(self) -> JSON:
        assert self.rejected is not None
        old = self.pod.get("status") or {}
        reason, message = self.rejected
        return {
            **{k: v for k, v in old.items() if k == "conditions"},
            "phase": "Failed",
            "reason": reason,
            "message": message,
            "startTime": old.get("startTime") or rfc3339(self.ctx.clock.now()),
        }

    async def write_status(self, status: JSON) -> None:
        current = self.pod.get("status") or {}
        if status == current or status == self.last_status:
            return
        body = deep_copy(self.pod)
        body["status"] = status
        for _ in range(3):
            try:
                written = await self.ctx.client.update_status(PODS, body)
                self.last_status = status
                if _newer(written, self.pod):
                    # (the informer may already have delivered something newer meanwhile,
                    # a deletionTimestamp for one: never step back to the older object)
                    self.pod = written
                return
            except ApiError as e:
                if e.not_found:
                    return
                if not e.conflict:
                    raise
                fresh = await self.ctx.client.get(PODS, self.name, self.namespace)
                if fresh["metadata"].get("uid") != self.uid:
                    return
                body = fresh
                body["status"] = status


def _newer(candidate: JSON, current: JSON) -> bool:
    """Whether `candidate` is a later version than `current` (litekube's resourceVersions are
    revisions: integers that only grow)."""
    try:
        return int(candidate["metadata"]["resourceVersion"]) > int(current["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return True
