"""The pod sandbox: a tiny container that holds a pod's shared namespaces.

Each pod gets one "pause" container, run like any other (runc under conmon) from a rootfs
we build once in `<state_dir>/pause-rootfs`: busybox-static with `sh` and `sleep`. Its
process only waits for SIGTERM:

    sh -c 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'

(`sleep & wait` so the trap runs at once instead of after the sleep). It joins the pod's
CNI network namespace (or gets a fresh one when there is none), owns the pod's IPC and UTS
namespaces and carries the pod's hostname. The pod's containers join those namespaces
through `/proc/<sandbox pid>/ns/{ipc,uts,net}`; each keeps its own pid and mount
namespaces and its own /dev/shm.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from litekube.node.runtime.types import ContainerConfig, Security, new_container_id

BUSYBOX = Path("/bin/busybox")
SANDBOX_NAME = "POD"
SANDBOX_LABEL = "io.litekube.sandbox"
PAUSE_ARGS = ["/bin/sh", "-c", 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']


def pause_rootfs(state_dir: Path, busybox: Path = BUSYBOX) -> Path:
    """Build (once) the read-only rootfs every sandbox shares."""
    root = state_dir / "pause-rootfs"
    if (root / "bin" / "sleep").is_symlink():
        return root
    staging = state_dir / "pause-rootfs.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "bin").mkdir(parents=True)
    shutil.copy2(busybox, staging / "bin" / "busybox")
    for applet in ("sh", "sleep"):
        os.symlink("busybox", staging / "bin" / applet)
    # Mount points must exist up front: the root is mounted read-only.
    for directory in ("proc", "sys", "dev", "etc", "tmp"):
        (staging / directory).mkdir()
    try:
        staging.rename(root)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another sandbox built it first
    return root


def sandbox_config(
    state_dir: Path,
    pod_uid: str,
    pod_name: str,
    pod_namespace: str,
    hostname: str,
    netns_path: str | None,
) -> ContainerConfig:
    container_id = new_container_id()
    bundle = state_dir / "sandboxes" / container_id
    return ContainerConfig(
        id=container_id,
        pod_uid=pod_uid,
        pod_name=pod_name,
        pod_namespace=pod_namespace,
        name=SANDBOX_NAME,
        bundle_dir=bundle,
        rootfs=pause_rootfs(state_dir),
        args=list(PAUSE_ARGS),
        log_path=bundle / "sandbox.log",
        hostname=hostname,
        netns_path=netns_path,
        security=Security(capabilities_drop=("ALL",), readonly_rootfs=True, no_new_privileges=True),
        labels={
            SANDBOX_LABEL: "true",
            "io.kubernetes.pod.uid": pod_uid,
            "io.kubernetes.pod.name": pod_name,
            "io.kubernetes.pod.namespace": pod_namespace,
        },
    )
