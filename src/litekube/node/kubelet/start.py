"""Starting one container of a pod: image, config, create, start, postStart.

    ensure image (pull policy; Pulling/Pulled events; ErrImagePull → ImagePullBackOff)
      → resolve env (ConfigMaps, Secrets, Services; missing key → CreateContainerConfigError)
      → mount the rootfs, build the ContainerConfig (runAsNonRoot refusal → CreateContainerConfigError)
      → runtime.create (Created event) → runtime.start (Started event) → postStart hook
On any failure the container's waiting reason/message is set on the worker and None is
returned; the pod worker retries on a later sync (with back-off where upstream has one).
"""

from __future__ import annotations

import base64
import shutil
import time
from typing import TYPE_CHECKING, Any

import orjson

from litekube.node.images import (
    ImageError,
    ImageInfo,
    ImagePullError,
    default_pull_policy,
    parse_dockerconfigjson,
)
from litekube.node.kubelet import events
from litekube.node.kubelet.backoff import go_duration
from litekube.node.kubelet.containers import (
    CONTAINER_NAME_LABEL,
    IMAGE_ID_LABEL,
    IMAGE_NAME_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_LABEL,
    ContainerPlan,
    build_container_config,
)
from litekube.node.kubelet.context import ContainerRecord
from litekube.node.kubelet.env import ConfigError, EnvSources, container_env, referenced_objects
from litekube.node.kubelet.hooks import run_handler
from litekube.node.runtime.base import RuntimeFailure
from litekube.node.runtime.types import new_container_id

if TYPE_CHECKING:
    from litekube.node.kubelet.pod_worker import PodWorker

JSON = dict[str, Any]


async def _pull_secrets(worker: PodWorker) -> dict[str, tuple[str, str]]:
    credentials: dict[str, tuple[str, str]] = {}
    for ref in (worker.pod.get("spec") or {}).get("imagePullSecrets") or ():
        secret = await worker.fetch("secret", worker.namespace, ref.get("name", ""))
        data = (secret or {}).get("data") or {}
        raw = data.get(".dockerconfigjson") or data.get(".dockercfg")
        if raw:
            try:
                credentials.update(parse_dockerconfigjson(orjson.loads(base64.b64decode(raw))))
            except (ValueError, orjson.JSONDecodeError):
                continue
    return credentials


async def ensure_image(worker: PodWorker, spec: JSON) -> ImageInfo | None:
    ctx = worker.ctx
    name = spec.get("name", "")
    image = spec.get("image", "")
    policy = spec.get("imagePullPolicy") or default_pull_policy(image)
    key = f"{worker.uid}/{name}/image"
    now = ctx.clock.now().timestamp()
    present = ctx.images.get(image) if policy != "Always" else None
    if present is not None:
        await worker.event(*events.already_present(image))
        return present
    last_error = worker.pull_errors.get(name)
    if last_error and ctx.image_backoff.in_backoff_since_update(key, now):
        message = f'Back-off pulling image "{image}": ErrImagePull: {last_error}'
        if worker.set_waiting(name, "ImagePullBackOff", message):
            await worker.event(*events.pull_backoff(image))
            await worker.event(*events.error_reason("ImagePullBackOff"))
        return None
    if policy != "Never":
        await worker.event(*events.pulling(image))
    started = time.monotonic()
    try:
        info = await ctx.images.ensure_image(image, policy, await _pull_secrets(worker) or None)
    except ImageError as e:
        reason = e.reason
        worker.set_waiting(name, reason, str(e))
        if isinstance(e, ImagePullError) or reason == "ErrImagePull":
            worker.pull_errors[name] = str(e)
            ctx.image_backoff.next(key, now)
            await worker.event(*events.pull_failed(image, str(e)))
        else:
            await worker.event("Warning", reason, str(e))
        await worker.event(*events.error_reason(reason))
        return None
    worker.pull_errors.pop(name, None)
    ctx.image_backoff.reset(key)
    elapsed = time.monotonic() - started
    if policy == "Never":
        await worker.event(*events.already_present(image))
    else:
        await worker.event(*events.pulled(image, elapsed, elapsed, info.size))
    return info


async def env_sources(worker: PodWorker, spec: JSON) -> EnvSources:
    configmaps, secrets = referenced_objects(spec)
    sources = EnvSources(
        host_ip=worker.ctx.host_ip,
        pod_ip=worker.pod_ip,
        node_allocatable=worker.ctx.allocatable,
        services=worker.ctx.services(worker.namespace),
    )
    for name in configmaps:
        sources.configmaps[name] = await worker.fetch("configmap", worker.namespace, name)
    for name in secrets:
        sources.secrets[name] = await worker.fetch("secret", worker.namespace, name)
    return sources


def _read_image_file(rootfs: Any, name: str) -> str:
    try:
        return str((rootfs / "etc" / name).read_text(errors="replace"))
    except OSError:
        return ""


async def start_container(worker: PodWorker, spec: JSON, attempt: int) -> ContainerRecord | None:
    ctx = worker.ctx
    name = spec.get("name", "")
    info = await ensure_image(worker, spec)
    if info is None:
        return None
    try:
        env = container_env(worker.pod, spec, await env_sources(worker, spec))
    except ConfigError as e:
        worker.set_waiting(name, "CreateContainerConfigError", str(e))
        await worker.event(*events.error_reason(str(e)))
        return None
    container_id = new_container_id()
    container_dir = worker.pod_dir / "containers" / container_id
    log_path = worker.log_dir(name) / f"{attempt}.log"
    termination_log = worker.pod_dir / "termination" / f"{name}-{attempt}"
    termination_log.parent.mkdir(parents=True, exist_ok=True)
    termination_log.write_bytes(b"")
    try:
        rootfs = ctx.rootfs.mount(info, container_dir)
    except OSError as e:
        worker.set_waiting(name, "CreateContainerError", f"failed to mount rootfs: {e}")
        return None
    labels = {
        POD_UID_LABEL: worker.uid,
        POD_NAME_LABEL: worker.name,
        POD_NAMESPACE_LABEL: worker.namespace,
        CONTAINER_NAME_LABEL: name,
        RESTART_COUNT_LABEL: str(attempt),
        IMAGE_NAME_LABEL: info.name,
        IMAGE_ID_LABEL: info.digest,
    }
    plan = ContainerPlan(
        id=container_id,
        bundle_dir=container_dir,
        rootfs=rootfs,
        log_path=log_path,
        termination_log=termination_log,
        sandbox_id=worker.sandbox_id,
        netns_path=worker.network.netns_path if worker.network else None,
        labels=labels,
    )

    def discard() -> None:
        ctx.rootfs.unmount(container_dir)
        shutil.rmtree(container_dir, ignore_errors=True)

    try:
        config = build_container_config(
            worker.pod,
            spec,
            dict(info.config),
            env,
            plan,
            worker.volumes or {},
            worker.files,
            worker.hostname,
            _read_image_file(rootfs, "passwd"),
            _read_image_file(rootfs, "group"),
        )
    except ConfigError as e:
        discard()
        worker.set_waiting(name, "CreateContainerConfigError", str(e))
        await worker.event(*events.error_reason(str(e)))
        return None
    try:
        await ctx.runtime.create(config)
    except RuntimeFailure as e:
        discard()
        worker.set_waiting(name, "CreateContainerError", str(e))
        await worker.event(*events.error_reason(str(e)))
        return None
    record = ContainerRecord(
        name=name,
        id=container_id,
        attempt=attempt,
        image_name=info.name,
        image_id=info.digest,
        termination_log=termination_log,
    )
    await worker.event(*events.created(name))
    try:
        await ctx.runtime.start(container_id)
    except RuntimeFailure as e:
        # The process never ran: upstream reports RunContainerError and, once seen
        # exited, reason ContainerCannotRun (exit code 128).
        record.killed_for = "ContainerCannotRun"
        record.post_start_failed = str(e)
        worker.set_waiting(name, "RunContainerError", str(e))
        await worker.event(*events.error_reason(str(e)))
        return record
    worker.clear_waiting(name)
    record.started_monotonic = ctx.clock.monotonic()
    await worker.event(*events.started(name))
    post_start = ((spec.get("lifecycle") or {}).get("postStart")) or None
    if post_start:
        error = await run_handler(post_start, ctx.runtime, ctx.clock, spec, container_id, worker.pod_ip, 30.0)
        if error is not None:
            record.post_start_failed = error
            await worker.event(*events.failed_poststart(name, error))
            await worker.event(*events.killing(name, "FailedPostStartHook"))
            await ctx.runtime.stop(container_id, worker.grace_period())
    return record


def crash_loop_message(delay: float, container: str, pod_text: str) -> str:
    return f"back-off {go_duration(delay)} restarting failed container={container} pod={pod_text}"
