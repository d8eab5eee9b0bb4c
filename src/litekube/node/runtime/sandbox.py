"""The pod sandbox: the pod's shared IPC and UTS namespaces, held without a process.

Upstream's kubelet asks the runtime for a "pause" container whose only job is to keep the
pod's namespaces alive; CRI-O's drop-infra mode instead pins them with bind mounts. We do
the latter (namespaces.py): `create_sandbox` makes a fresh IPC and UTS namespace, sets the
pod's hostname inside the UTS one, and bind-mounts both under
`<state_dir>/sandboxes/<id>/{ipc,uts}` (plus `net` when the pod has no CNI namespace).
The pod's containers join them by path, so they share hostname and System V IPC with each
other and not with the host; each keeps its own pid and mount namespaces and /dev/shm.

The sandbox is recorded like a container (`containers/<id>.json`, labelled
`io.litekube.sandbox`) so that `list()`/`adopt()` after an agent restart find it: its
record carries `namespaces` (kind → pinned path) instead of a conmon pid, and it counts as
running while every pinned path is still a mount. Sandboxes made by earlier versions (a
pause container, no `namespaces` in the record) keep working: they are stopped and removed
as the containers they are, and containers join them through `/proc/<pid>/ns/*`.

`pause_rootfs` (busybox-static with `sh` and `sleep`) is what those pause containers ran;
the benchmarks still use it as the smallest bundle to start.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litekube.node.runtime import namespaces
from litekube.node.runtime.cgroups import pod_cgroup

BUSYBOX = Path("/bin/busybox")
SANDBOX_NAME = "POD"
SANDBOX_LABEL = "io.litekube.sandbox"
PAUSE_ARGS = ["/bin/sh", "-c", 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']


def pause_rootfs(state_dir: Path, busybox: Path = BUSYBOX) -> Path:
    """Build (once) a read-only busybox rootfs with `sh` and `sleep`."""
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


def sandbox_dir(state_dir: Path, sandbox_id: str) -> Path:
    return state_dir / "sandboxes" / sandbox_id


def pin_sandbox(
    state_dir: Path,
    sandbox_id: str,
    pod_uid: str,
    pod_name: str,
    pod_namespace: str,
    hostname: str,
    netns_path: str | None,
) -> dict[str, Any]:
    """Pin the pod's namespaces; returns the sandbox's record (for the runtime to save)."""
    directory = sandbox_dir(state_dir, sandbox_id)
    # Without a CNI namespace the pod still gets a network of its own (only `lo`), as a
    # pause container would have.
    kinds = ("ipc", "uts") if netns_path else ("ipc", "uts", "net")
    pinned = namespaces.pin(directory, kinds, hostname)
    now = datetime.now(UTC).isoformat()
    return {
        "id": sandbox_id,
        "pod_uid": pod_uid,
        "pod_name": pod_name,
        "pod_namespace": pod_namespace,
        "name": SANDBOX_NAME,
        "bundle_dir": str(directory),
        "log_path": None,
        "labels": {
            SANDBOX_LABEL: "true",
            "io.kubernetes.pod.uid": pod_uid,
            "io.kubernetes.pod.name": pod_name,
            "io.kubernetes.pod.namespace": pod_namespace,
        },
        "cgroup": pod_cgroup(pod_uid),
        "tty": False,
        "stdin": False,
        "created_at": now,
        "started_at": now,
        "conmon_pid": None,
        "final": None,
        "namespaces": pinned,
    }


def is_pinned_sandbox(meta: dict[str, Any]) -> bool:
    return bool(meta.get("namespaces"))


def sandbox_alive(meta: dict[str, Any]) -> bool:
    return all(namespaces.is_pinned(path) for path in meta["namespaces"].values())


def unpin_sandbox(meta: dict[str, Any]) -> None:
    namespaces.unpin(Path(meta["bundle_dir"]), tuple(meta["namespaces"]))
