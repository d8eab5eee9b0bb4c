"""`KubeletBackend`: the stream handlers' `ContainerBackend` on a running kubelet.

    get_pod         ─▶ the API (authoritative: an unscheduled pod exists but is on no node)
    find_container  ─▶ Kubelet.find_container (runtime id + last observed status); with no
                       instance, the waiting reason from the pod status the kubelet wrote
    log_path        ─▶ Kubelet.log_path
    pod_ip          ─▶ status.podIP of the kubelet's cached pod (127.0.0.1 for hostNetwork
                       pods, so port-forward never leaves the machine)
    exec / attach   ─▶ the kubelet's Runtime (runc exec, conmon's attach socket)

Only public kubelet methods and the `Runtime` protocol are used, so either side can change
its insides freely.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from litekube.api.resources import ResourceType, lookup
from litekube.client.base import ApiError, Client
from litekube.node.runtime.base import Runtime, RuntimeFailure
from litekube.node.runtime.types import ContainerState as RuntimeState
from litekube.node.runtime.types import ContainerStatus
from litekube.node.streams.backend import (
    ContainerRef,
    ContainerState,
    PodDict,
    Resizes,
    Sink,
    StreamFailure,
)

if TYPE_CHECKING:
    from litekube.node.kubelet import Kubelet

_pods = lookup("", "v1", "pods")
assert _pods is not None
PODS: ResourceType = _pods


class PodStore(Protocol):
    def get_by_name(self, namespace: str | None, name: str) -> dict[str, Any] | None: ...


class KubeletLike(Protocol):
    """The few things of `litekube.node.kubelet.Kubelet` the streams use."""

    client: Client

    def find_container(
        self, namespace: str, pod_name: str, container_name: str
    ) -> tuple[str, ContainerStatus] | None: ...

    def log_path(self, namespace: str, pod: str, container: str, previous: bool = False) -> Path | None: ...


class KubeletBackend:
    def __init__(self, kubelet: KubeletLike, runtime: Runtime, pods: PodStore) -> None:
        """`pods` is the kubelet's pod cache (`kubelet.pods.store`), `runtime` its runtime
        (`kubelet.ctx.runtime`)."""
        self.kubelet = kubelet
        self.runtime = runtime
        self.pods = pods

    async def get_pod(self, namespace: str, name: str) -> PodDict | None:
        try:
            return await self.kubelet.client.get(PODS, name, namespace)
        except ApiError as e:
            if e.not_found:
                return None
            raise

    def find_container(self, namespace: str, pod: str, container: str) -> ContainerRef | None:
        found = self.kubelet.find_container(namespace, pod, container)
        if found is not None:
            container_id, status = found
            if status.state == RuntimeState.RUNNING:
                return ContainerRef(container_id, ContainerState.RUNNING)
            if status.state == RuntimeState.EXITED:
                return ContainerRef(container_id, ContainerState.EXITED, status.reason or "Error")
            return ContainerRef(container_id, ContainerState.WAITING, "ContainerCreating")
        cached = self.pods.get_by_name(namespace, pod)
        if cached is None:
            return None
        for status_ in _container_statuses(cached):
            if status_.get("name") == container:
                waiting = (status_.get("state") or {}).get("waiting")
                if waiting is not None:
                    return ContainerRef(None, ContainerState.WAITING, str(waiting.get("reason", "")))
        return ContainerRef(None, ContainerState.WAITING, "ContainerCreating")

    def log_path(self, namespace: str, pod: str, container: str, previous: bool) -> Path | None:
        return self.kubelet.log_path(namespace, pod, container, previous)

    def pod_ip(self, namespace: str, pod: str) -> str | None:
        cached = self.pods.get_by_name(namespace, pod)
        if cached is None:
            return None
        if (cached.get("spec") or {}).get("hostNetwork"):
            return "127.0.0.1"
        ip = (cached.get("status") or {}).get("podIP")
        return str(ip) if ip else None

    async def exec(
        self,
        container_id: str,
        argv: list[str],
        tty: bool,
        stdin: AsyncIterable[bytes] | None,
        stdout: Sink | None,
        stderr: Sink | None,
        resize: Resizes | None,
    ) -> int:
        try:
            return await self.runtime.exec(container_id, argv, tty, stdin, stdout, stderr, resize)
        except RuntimeFailure as e:
            raise StreamFailure(str(e)) from e

    async def attach(
        self,
        container_id: str,
        stdin: AsyncIterable[bytes] | None,
        stdout: Sink | None,
        stderr: Sink | None,
        resize: Resizes | None,
    ) -> None:
        try:
            await self.runtime.attach(container_id, stdin, stdout, stderr, resize)
        except RuntimeFailure as e:
            raise StreamFailure(str(e)) from e


def for_kubelet(kubelet: Kubelet) -> KubeletBackend:
    """The backend of a running kubelet (its runtime and its pod cache)."""
    return KubeletBackend(kubelet, kubelet.ctx.runtime, kubelet.pods.store)


def _container_statuses(pod: PodDict) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
        *(status.get("ephemeralContainerStatuses") or []),
    ]
