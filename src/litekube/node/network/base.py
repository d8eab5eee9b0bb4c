"""The pod network seam: what the kubelet asks of pod networking, and nothing more.

The kubelet calls `setup(pod, port_mappings)` once per pod sandbox, before any container
starts, and gets back the pod's network namespace (containers join it through their OCI
`linux.namespaces` entry) and its IP (written into `status.podIP`). `teardown(pod_uid)`
undoes it when the pod is gone; it must work with nothing but on-disk state, because the
agent may have restarted since `setup`. `list_pods()` tells a restarted agent which
sandboxes exist (adoption, garbage collection) and `cleanup_all()` removes every trace at
shutdown.

Two implementations: `CniNetwork` (real: CNI plugins, network namespaces) and
`FakeNetwork` (in memory, for kubelet unit tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

TransportProtocol = Literal["TCP", "UDP", "SCTP"]


class NetworkError(Exception):
    """A pod network operation failed; the message says which step and why.

    The kubelet treats it as temporary (retry with back-off) and reports it in an Event
    (upstream's reason is `FailedCreatePodSandBox` with the CNI plugin's message).
    """


@dataclass(frozen=True)
class PodRef:
    """Which pod a sandbox belongs to. The uid is the key; namespace and name go to plugins."""

    uid: str
    namespace: str
    name: str


@dataclass(frozen=True)
class PortMapping:
    """One `hostPort` of a container port (`containers[].ports[]` with hostPort set).

    `host_ip` "" means every host address, as upstream's empty `hostIP` does.
    """

    container_port: int
    host_port: int
    protocol: TransportProtocol = "TCP"
    host_ip: str = ""


@dataclass(frozen=True)
class PodNetworkStatus:
    """A pod's network as set up: where its namespace is and which address it got."""

    pod_uid: str
    netns_path: str
    ip: str
    gateway: str
    prefix_length: int = 24
    # the interface inside the pod, its host-side veth peer and the bridge it hangs on
    interface: str = "eth0"
    host_interface: str = ""
    bridge: str = ""
    port_mappings: tuple[PortMapping, ...] = field(default_factory=tuple)


@runtime_checkable
class PodNetwork(Protocol):
    async def setup(self, pod: PodRef, port_mappings: list[PortMapping]) -> PodNetworkStatus:
        """Create the pod's network (idempotent: a second call returns the same status)."""
        ...

    async def teardown(self, pod_uid: str) -> None:
        """Remove the pod's network; a no-op when it has none. Works after an agent restart."""
        ...

    async def list_pods(self) -> list[PodNetworkStatus]:
        """Every pod network this node currently holds (from on-disk state)."""
        ...

    async def cleanup_all(self) -> None:
        """Shutdown: remove every namespace, veth, IP reservation and rule we created."""
        ...
