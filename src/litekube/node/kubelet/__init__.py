"""The kubelet: runs the pods bound to this node as real containers.

Wiring (what `litekube server` / `litekube agent` do):

    kubelet = build_kubelet(client, data_dir)          # real images, runc, CNI
    await kubelet.start()                               # registers the Node, adopts, runs pods
    ...
    await kubelet.stop()                                # cleanup=True: nothing left behind

Module map: kubelet.py (Node, Lease, informers, admission, workers), pod_worker.py (sync
one pod), start.py (start one container), termination.py (graceful stop, teardown),
containers.py + env.py (spec → runtime config), volumes.py + atomic_writer.py, probes.py,
hooks.py, views.py + status.py (pod status), events.py, node_status.py, resources.py,
backoff.py, adopt.py, context.py (shared seams), mounts.py (tmpfs).
"""

from __future__ import annotations

import socket
from pathlib import Path

from litekube.client.base import Client
from litekube.machinery.clock import Clock
from litekube.node.kubelet.context import OverlayRootfs
from litekube.node.kubelet.kubelet import Kubelet

__all__ = ["Kubelet", "build_kubelet"]


def build_kubelet(
    client: Client,
    data_dir: Path,
    node_name: str | None = None,
    clock: Clock | None = None,
    *,
    pod_cidr: str | None = None,
    host_ip: str | None = None,
    kubelet_port: int | None = None,
) -> Kubelet:
    """A Kubelet with the real parts: ImageService, RuncRuntime (runc + conmon), CniNetwork.

    State goes under `data_dir`: images/, runtime/, network/, pods/<uid>/ (volumes, logs,
    container rootfs mounts). The node is named after the host unless `node_name` is given.
    A joined agent passes the pod CIDR the server gave it, its node IP and its stream port.
    """
    from litekube.node.images import ImageService
    from litekube.node.kubelet import node_status
    from litekube.node.network import CniNetwork
    from litekube.node.runtime.runc import RuncRuntime

    data_dir = Path(data_dir)
    runtime_dir = data_dir / "runtime"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    return Kubelet(
        client,
        data_dir,
        node_name or socket.gethostname().lower(),
        RuncRuntime(runtime_dir),
        CniNetwork(data_dir, pod_cidr=pod_cidr or node_status.POD_CIDR),
        ImageService(data_dir),
        clock=clock,
        rootfs=OverlayRootfs(),
        runtime_version=node_status.runc_version(),
        host_ip=host_ip,
        pod_cidr=pod_cidr or node_status.POD_CIDR,
        kubelet_port=kubelet_port or node_status.KUBELET_PORT,
    )
