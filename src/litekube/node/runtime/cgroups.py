"""Where litekube's containers live in the cgroup tree, and what we read back from it.

Layout (cgroupfs driver, the same on v1 and v2): `/litekube/pod<uid>/<container id>`.
runc creates the leaf (and parents) from `linux.cgroupsPath` and removes the leaf on
`runc delete`; the per-pod directory is ours to remove when the pod's sandbox goes.

On cgroup v1 each controller is its own hierarchy (`/sys/fs/cgroup/memory/litekube/...`);
on v2 there is one tree (`/sys/fs/cgroup/litekube/...`). The OOM kill counter is the
`oom_kill` line of `memory.oom_control` (v1) or `memory.events` (v2).
"""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "/litekube"
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "blkio", "cpuset", "devices", "freezer", "systemd")


def cgroup_version(root: Path = CGROUP_ROOT) -> int:
    """2 when /sys/fs/cgroup is the unified hierarchy, else 1 (v1 or hybrid)."""
    return 2 if (root / "cgroup.controllers").exists() else 1


def swap_accounting(root: Path = CGROUP_ROOT) -> bool:
    """Whether memory.swap limits can be written (v1 needs memsw; v2 has memory.swap.max)."""
    if cgroup_version(root) == 2:
        return True
    return (root / "memory" / "memory.memsw.limit_in_bytes").exists()


def pod_cgroup(pod_uid: str) -> str:
    return f"{CGROUP_PARENT}/pod{pod_uid}"


def container_cgroup(pod_uid: str, container_id: str) -> str:
    return f"{pod_cgroup(pod_uid)}/{container_id}"


def _memory_dir(cgroup: str, root: Path) -> Path:
    relative = cgroup.lstrip("/")
    return root / relative if cgroup_version(root) == 2 else root / "memory" / relative


def oom_kills(cgroup: str, root: Path = CGROUP_ROOT) -> int | None:
    """The cgroup's OOM kill count, or None when the cgroup is gone."""
    directory = _memory_dir(cgroup, root)
    name = "memory.events" if cgroup_version(root) == 2 else "memory.oom_control"
    try:
        text = (directory / name).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0


def remove_cgroup(cgroup: str, root: Path = CGROUP_ROOT) -> None:
    """rmdir the cgroup in every hierarchy (deepest first); missing or busy ones are left."""
    relative = cgroup.strip("/")
    if not relative.startswith(CGROUP_PARENT.strip("/")):
        raise ValueError(f"refusing to remove {cgroup}: not under {CGROUP_PARENT}")
    bases = [root] if cgroup_version(root) == 2 else [root / name for name in V1_CONTROLLERS]
    for base in bases:
        path = base / relative
        if not path.is_dir():
            continue
        # Children first: a leaf runc failed to remove would keep the parent busy.
        for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if child.is_dir():
                _rmdir(child)
        _rmdir(path)


def _rmdir(path: Path) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass  # busy (processes left) or already gone: the caller's next pass retries


def remove_parent_if_empty(root: Path = CGROUP_ROOT) -> None:
    """rmdir `/litekube` itself where no pod cgroup is left (at shutdown, after tests)."""
    relative = CGROUP_PARENT.strip("/")
    bases = [root] if cgroup_version(root) == 2 else [root / name for name in V1_CONTROLLERS]
    for base in bases:
        path = base / relative
        if path.is_dir() and not any(child.is_dir() for child in path.iterdir()):
            _rmdir(path)
