"""After an agent restart: take over the containers, sandboxes and networks still there.

conmon keeps containers running while the agent is down, so on start the kubelet
1. reads `runtime.adopt()` (every `litekube-` container with its labels: pod uid,
   container name, restart count, image), the per-pod `kubelet-state.json` files (which
   sandbox belongs to which pod) and `network.list_pods()` (netns and IP per pod uid);
2. gives each pod worker, when the informer shows its pod, the newest instance of every
   container as `current` and the one before as `previous` (older ones are removed);
3. once the informer has synced, tears down what belongs to no pod bound here any more
   (containers, sandboxes not named by any state file, networks, pod directories).
So a restarted agent neither starts duplicates nor forgets what it ran.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from litekube.node.kubelet.containers import (
    CONTAINER_NAME_LABEL,
    IMAGE_ID_LABEL,
    IMAGE_NAME_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_LABEL,
)
from litekube.node.kubelet.context import ContainerRecord, NodeContext
from litekube.node.network.base import PodNetworkStatus
from litekube.node.runtime.base import RuntimeFailure
from litekube.node.runtime.sandbox import SANDBOX_LABEL
from litekube.node.runtime.types import ContainerState, ContainerStatus

log = logging.getLogger(__name__)


@dataclass
class PodLeftovers:
    sandbox_id: str | None = None
    network: PodNetworkStatus | None = None
    containers: list[ContainerStatus] = field(default_factory=list)


@dataclass
class Found:
    pods: dict[str, PodLeftovers] = field(default_factory=dict)
    stray_sandboxes: list[str] = field(default_factory=list)


async def discover(ctx: NodeContext) -> Found:
    found = Found()
    named_sandboxes: set[str] = set()
    pods_dir = ctx.pods_dir()
    if pods_dir.is_dir():
        for state_file in pods_dir.glob("*/kubelet-state.json"):
            try:
                state = orjson.loads(state_file.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            leftovers = found.pods.setdefault(state["uid"], PodLeftovers())
            leftovers.sandbox_id = state.get("sandbox_id")
            if leftovers.sandbox_id:
                named_sandboxes.add(leftovers.sandbox_id)
    for status in await ctx.runtime.adopt():
        if status.labels.get(SANDBOX_LABEL):
            if status.id not in named_sandboxes:
                found.stray_sandboxes.append(status.id)
            continue
        uid = status.labels.get(POD_UID_LABEL)
        if uid:
            found.pods.setdefault(uid, PodLeftovers()).containers.append(status)
    for network in await ctx.network.list_pods():
        found.pods.setdefault(network.pod_uid, PodLeftovers()).network = network
    return found


def restore_records(
    statuses: list[ContainerStatus], started_monotonic: float
) -> tuple[dict[str, ContainerRecord], dict[str, ContainerRecord], list[ContainerRecord]]:
    """(current, previous, to remove) per container name, newest restart count first."""
    by_name: dict[str, list[ContainerRecord]] = {}
    for status in statuses:
        labels = status.labels
        record = ContainerRecord(
            name=labels.get(CONTAINER_NAME_LABEL, ""),
            id=status.id,
            attempt=int(labels.get(RESTART_COUNT_LABEL, "0") or 0),
            image_name=labels.get(IMAGE_NAME_LABEL, ""),
            image_id=labels.get(IMAGE_ID_LABEL, ""),
            status=status,
            started_monotonic=started_monotonic if status.state == ContainerState.RUNNING else 0.0,
        )
        by_name.setdefault(record.name, []).append(record)
    current: dict[str, ContainerRecord] = {}
    previous: dict[str, ContainerRecord] = {}
    extra: list[ContainerRecord] = []
    for name, records in by_name.items():
        records.sort(key=lambda r: r.attempt, reverse=True)
        current[name] = records[0]
        if len(records) > 1:
            previous[name] = records[1]
        extra += records[2:]
    return current, previous, extra


async def remove_stray(ctx: NodeContext, found: Found, keep: set[str]) -> None:
    """Tear down what belongs to no pod in `keep` (uids bound here)."""
    for sandbox_id in found.stray_sandboxes:
        with contextlib.suppress(RuntimeFailure):
            await ctx.runtime.remove_sandbox(sandbox_id)
    for uid, leftovers in found.pods.items():
        if uid in keep:
            continue
        log.info("removing leftovers of pod %s (no longer bound here)", uid)
        for status in leftovers.containers:
            with contextlib.suppress(RuntimeFailure):
                await ctx.runtime.stop(status.id, 2.0)
                await ctx.runtime.remove(status.id)
            ctx.rootfs.unmount(ctx.pods_dir() / uid / "containers" / status.id)
        if leftovers.sandbox_id:
            with contextlib.suppress(RuntimeFailure):
                await ctx.runtime.remove_sandbox(leftovers.sandbox_id)
        await ctx.network.teardown(uid)
        pod_dir: Path = ctx.pods_dir() / uid
        from litekube.node.kubelet.volumes import teardown_volumes

        with contextlib.suppress(OSError):
            teardown_volumes(pod_dir, ctx.mounter)
        shutil.rmtree(pod_dir, ignore_errors=True)
