"""Stopping containers and tearing a pod down.

Graceful deletion (`terminate`), in upstream's order:
1. stop every probe;
2. app containers, concurrently: the preStop hook (exec / httpGet / sleep) bounded by the
   grace period, then SIGTERM (the image's StopSignal is not consulted yet), then SIGKILL
   when what is left of the grace period runs out (`Killing` event "Stopping container x");
3. native sidecars after them, in reverse order, with whatever grace is left (≥ 2 s);
4. write the final status (containers terminated), remove the containers, the sandbox,
   the network (IP freed), the volumes (tmpfs unmounted) and the pod directory;
5. delete the Pod with gracePeriodSeconds 0 and a uid precondition, so a new pod of the
   same name is never deleted by mistake. A pod already gone from the API skips this.

`release_sandbox` is the lighter step for a pod that finished (Succeeded/Failed): sidecars
stop, the sandbox and network go, exited containers stay for `kubectl logs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litekube.client.base import ApiError
from litekube.node.kubelet import events
from litekube.node.kubelet.context import ContainerRecord
from litekube.node.kubelet.hooks import run_handler
from litekube.node.kubelet.volumes import teardown_volumes
from litekube.node.runtime.base import RuntimeFailure
from litekube.node.runtime.cgroups import CGROUP_PARENT, CGROUP_ROOT
from litekube.node.runtime.types import ContainerState

if TYPE_CHECKING:
    from litekube.node.kubelet.pod_worker import PodWorker

log = logging.getLogger(__name__)
JSON = dict[str, Any]
MIN_SIDECAR_GRACE = 2.0


async def stop_container(worker: PodWorker, spec: JSON, record: ContainerRecord, grace: float) -> None:
    """preStop (bounded by `grace`), then SIGTERM and SIGKILL after what is left."""
    ctx = worker.ctx
    record.stop_probes()
    if record.status is not None and record.status.state == ContainerState.EXITED:
        return
    deadline = ctx.clock.monotonic() + grace
    pre_stop = (spec.get("lifecycle") or {}).get("preStop")
    if pre_stop:
        error = await run_handler(pre_stop, ctx.runtime, ctx.clock, spec, record.id, worker.pod_ip, grace)
        if error is not None:
            await worker.event(*events.failed_prestop(record.name, error))
    remaining = max(deadline - ctx.clock.monotonic(), 0.0)
    with contextlib.suppress(RuntimeFailure):
        await ctx.runtime.stop(record.id, remaining)


def _spec_of(worker: PodWorker, name: str) -> JSON:
    init_specs, main_specs = worker.specs()
    return next((s for s in [*main_specs, *init_specs] if s.get("name") == name), {"name": name})


async def stop_all(worker: PodWorker, grace: float, announce: bool) -> None:
    ctx = worker.ctx
    deadline = ctx.clock.monotonic() + grace
    init_specs, _ = worker.specs()
    sidecar_names = [s.get("name", "") for s in init_specs if s.get("restartPolicy") == "Always"]
    running = [
        r for r in worker.current.values() if r.status is None or r.status.state != ContainerState.EXITED
    ]
    first = [r for r in running if r.name not in sidecar_names]
    last = sorted((r for r in running if r.name in sidecar_names), key=lambda r: -sidecar_names.index(r.name))
    for record in worker.records():
        record.stop_probes()
    if announce:
        for record in first:
            await worker.event(*events.killing(record.name))
    await asyncio.gather(*(stop_container(worker, _spec_of(worker, r.name), r, grace) for r in first))
    for record in last:
        if announce:
            await worker.event(*events.killing(record.name))
        left = max(deadline - ctx.clock.monotonic(), MIN_SIDECAR_GRACE)
        await stop_container(worker, _spec_of(worker, record.name), record, left)


async def release_sandbox(worker: PodWorker) -> None:
    if worker.sandbox_released:
        return
    await stop_all(worker, MIN_SIDECAR_GRACE, announce=True)
    await worker.observe()
    await _remove_sandbox(worker)
    worker.sandbox_released = True


async def _remove_sandbox(worker: PodWorker) -> None:
    ctx = worker.ctx
    if worker.sandbox_id is not None:
        with contextlib.suppress(RuntimeFailure):
            await ctx.runtime.remove_sandbox(worker.sandbox_id)
        remove_pod_cgroups(worker.uid)
    await ctx.network.teardown(worker.uid)


def remove_pod_cgroups(pod_uid: str, root: Path = CGROUP_ROOT) -> None:
    """rmdir what is left of `/litekube/pod<uid>` in every mounted hierarchy.

    The runtime removes the pod cgroup from the v1 controllers it knows; on a hybrid host
    the `unified` (v2) hierarchy and controllers such as net_cls keep an empty directory
    per pod. rmdir only ever removes empty cgroups, so this cannot disturb a live one.
    """
    relative = f"{CGROUP_PARENT.strip('/')}/pod{pod_uid}"
    bases = [root, *(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
    for base in bases:
        top = base / relative
        if not top.is_dir():
            continue
        for directory, _subdirs, _files in os.walk(top, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(directory)


async def cleanup(worker: PodWorker) -> None:
    """Remove everything the pod holds on this machine (containers must be stopped)."""
    ctx = worker.ctx
    for record in worker.records():
        await worker.retire(record)
    worker.current.clear()
    worker.previous.clear()
    await _remove_sandbox(worker)
    worker.sandbox_id = None
    try:
        teardown_volumes(worker.pod_dir, ctx.mounter)
    except OSError as e:
        log.warning("pod %s: volume teardown: %s", worker.uid, e)
    shutil.rmtree(worker.pod_dir, ignore_errors=True)
    ctx.restart_backoff.forget_prefix(worker.uid + "/")
    ctx.image_backoff.forget_prefix(worker.uid + "/")


async def terminate(worker: PodWorker) -> None:
    from litekube.node.kubelet.pod_worker import PODS

    grace = worker.grace_period()
    await worker.observe()
    await stop_all(worker, grace, announce=True)
    await worker.observe()
    if not worker.gone_from_api:
        with contextlib.suppress(ApiError):
            await worker.write_status(worker.compute_status())
    await cleanup(worker)
    if not worker.gone_from_api:
        try:
            await worker.ctx.client.delete(
                PODS, worker.name, worker.namespace, grace_period_seconds=0, preconditions={"uid": worker.uid}
            )
        except ApiError as e:
            if not (e.not_found or e.conflict):
                raise
    worker.finished = True
