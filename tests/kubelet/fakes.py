"""Test doubles for the kubelet: an API with graceful pod deletion, a scripted prober, a harness."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litekube.api.patch import deep_copy
from litekube.api.resources import lookup
from litekube.client.base import Client
from litekube.client.fake import FakeTransport, Write, _resolve
from litekube.machinery.clock import FakeClock, rfc3339
from litekube.node.images import FakeImageService
from litekube.node.kubelet.context import DirectoryRootfs
from litekube.node.kubelet.kubelet import Kubelet
from litekube.node.kubelet.pod_worker import PodWorker
from litekube.node.kubelet.probes import SUCCESS
from litekube.node.kubelet.volumes import DirectoryMounter
from litekube.node.network import FakeNetwork
from litekube.node.runtime.fake import FakeRuntime

JSON = dict[str, Any]
PODS = lookup("", "v1", "pods")
EVENTS = lookup("", "v1", "events")
assert PODS is not None and EVENTS is not None
CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"}
ALLOCATABLE = {"cpu": "3900m", "memory": "7Gi", "pods": "110", "ephemeral-storage": "90Gi"}


class GracefulFakeTransport(FakeTransport):
    """FakeTransport plus the API server's graceful pod deletion: a DELETE of a bound pod
    with a non-zero grace only sets deletionTimestamp + deletionGracePeriodSeconds."""

    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        rt, namespace, _plural, name, sub = _resolve(path)
        if method == "DELETE" and rt is PODS and name and not sub:
            options = body if isinstance(body, dict) else {}
            key = self._key(rt, namespace, name)
            old = self._store(rt).get(key)
            grace = options.get("gracePeriodSeconds")
            if old is not None and old["spec"].get("nodeName") and grace != 0:
                if old["metadata"].get("deletionTimestamp"):
                    return 200, deep_copy(old)
                new = deep_copy(old)
                if grace is None:
                    grace = old["spec"].get("terminationGracePeriodSeconds", 30)
                new["metadata"]["deletionTimestamp"] = rfc3339(self.clock.now())
                new["metadata"]["deletionGracePeriodSeconds"] = grace
                code, result = self._commit(rt, key, old, new)
                self.writes.append(
                    Write(method, path, deep_copy(body), code, deep_copy(result), content_type)
                )
                return code, result
        return await super().request(method, path, query, body, content_type)

    def _commit(self, rt: Any, key: tuple[str, str], old: JSON, new: JSON) -> tuple[int, JSON]:
        meta = new.get("metadata") or {}
        if rt is PODS and meta.get("deletionTimestamp") and meta.get("deletionGracePeriodSeconds"):
            # a gracefully deleted pod stays until its kubelet deletes it with grace 0
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if new == old:
                return 200, deep_copy(old)
            self.resource_version += 1
            meta["resourceVersion"] = str(self.resource_version)
            self._store(rt)[key] = new
            self._emit(rt, "MODIFIED", new)
            return 200, deep_copy(new)
        return super()._commit(rt, key, old, new)


@dataclass
class ScriptedProber:
    """Answers probes from a list per (container, httpGet path); the last answer repeats."""

    answers: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def script(self, container: str, kind: str, *answers: tuple[str, str]) -> None:
        self.answers[(container, kind)] = list(answers)

    async def probe(self, probe: JSON, pod_ip: str, container: JSON, container_id: str) -> tuple[str, str]:
        kind = str((probe.get("httpGet") or {}).get("path", ""))
        name = container.get("name", "")
        self.calls.append((name, kind))
        queue = self.answers.get((name, kind)) or [(SUCCESS, "")]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@dataclass
class Harness:
    clock: FakeClock
    transport: GracefulFakeTransport
    client: Client
    runtime: FakeRuntime
    network: FakeNetwork
    images: FakeImageService
    prober: ScriptedProber
    mounter: DirectoryMounter
    kubelet: Kubelet
    data_dir: Path

    async def create_pod(self, pod: JSON) -> JSON:
        pod = deep_copy(pod)
        pod.setdefault("metadata", {}).setdefault("namespace", "default")
        spec = pod.setdefault("spec", {})
        spec.setdefault("nodeName", "node-1")
        spec.setdefault("restartPolicy", "Always")
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            container.setdefault("imagePullPolicy", "IfNotPresent")
        return await self.client.create(PODS, pod)

    async def worker(self, pod: JSON) -> PodWorker:
        created = await self.create_pod(pod)
        worker = PodWorker(self.kubelet.ctx, created)
        self.kubelet.workers[worker.uid] = worker
        return worker

    def pod(self, name: str, namespace: str = "default") -> JSON | None:
        return self.transport.get_object(PODS, namespace, name)

    def events(self) -> list[tuple[str, str]]:
        return [(e["reason"], e["message"]) for e in self.transport.objects(EVENTS)]


def build_harness(data_dir: Path) -> Harness:
    clock = FakeClock()
    transport = GracefulFakeTransport(clock)
    client = Client(transport)
    runtime = FakeRuntime(now=clock.now)
    network = FakeNetwork()
    images = FakeImageService()
    images.add("nginx:1.21", config={"Cmd": ["nginx", "-g", "daemon off;"], "Env": ["PATH=/usr/sbin:/bin"]})
    images.add("busybox", config={"Cmd": ["sh"], "Env": ["PATH=/bin"]})
    prober = ScriptedProber()
    mounter = DirectoryMounter()
    kubelet = Kubelet(
        client,
        data_dir,
        "node-1",
        runtime,
        network,
        images,
        clock=clock,
        prober=prober,
        mounter=mounter,
        rootfs=DirectoryRootfs(),
        host_ip="192.168.1.10",
        runtime_version="1.1.12",
        capacity=(dict(CAPACITY), dict(ALLOCATABLE)),
    )
    return Harness(clock, transport, client, runtime, network, images, prober, mounter, kubelet, data_dir)
