"""The pod worker's containers as `ContainerView`s, the input of status.py.

Per container name: no instance yet → waiting (the last failure's reason, else
ContainerCreating, or PodInitializing behind unfinished init containers); created →
waiting ContainerCreating; running → running with started/ready from the probes; exited →
terminated, or waiting (CrashLoopBackOff, ImagePullBackOff…) with the exit as lastState
when a restart is pending. The previous instance, if any, is always the lastState.
The terminated message is the container's termination-message file (first 4096 bytes).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from litekube.node.kubelet.context import ContainerRecord
from litekube.node.kubelet.status import ContainerView, running_state, terminated_state, waiting_state
from litekube.node.runtime.types import ContainerState

if TYPE_CHECKING:
    from litekube.node.kubelet.pod_worker import PodWorker

JSON = dict[str, Any]
TERMINATION_MESSAGE_LIMIT = 4096
# Waiting reasons shown instead of the terminated state while a restart is pending.
RESTART_PENDING = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "RunContainerError",
)


def terminated(record: ContainerRecord) -> JSON:
    status = record.status
    assert status is not None
    reason = status.reason or "Error"
    message = ""
    if record.killed_for == "ContainerCannotRun":
        reason, message = "ContainerCannotRun", record.post_start_failed
    elif record.termination_log is not None:
        with contextlib.suppress(OSError):
            message = record.termination_log.read_bytes()[:TERMINATION_MESSAGE_LIMIT].decode(errors="replace")
    exit_code = (
        status.exit_code if status.exit_code is not None else (128 if reason == "ContainerCannotRun" else 0)
    )
    return terminated_state(
        exit_code, reason, status.started_at, status.finished_at, record.container_id, message
    )


def container_view(worker: PodWorker, spec: JSON, sidecar: bool, initializing: bool) -> ContainerView:
    name = spec.get("name", "")
    record = worker.current.get(name)
    previous = worker.previous.get(name)
    view = ContainerView(name=name, image=spec.get("image", ""), sidecar=sidecar)
    waiting = worker.waiting.get(name)
    if record is None:
        reason, message = waiting or (("PodInitializing", "") if initializing else ("ContainerCreating", ""))
        view.state = waiting_state(reason, message)
        if previous is not None:
            view.last_state = terminated(previous) if previous.status else {}
        return view
    view.image = record.image_name or view.image
    view.image_id = record.image_id
    view.container_id = record.container_id
    view.restart_count = record.attempt
    if previous is not None and previous.status is not None:
        view.last_state = terminated(previous)
    status = record.status
    if status is None or status.state in (ContainerState.CREATED, ContainerState.UNKNOWN):
        view.state = waiting_state(*(waiting or ("ContainerCreating", "")))
    elif status.state == ContainerState.RUNNING:
        view.state = running_state(status.started_at)
        view.started = worker.started(record)
        view.ready = worker.ready(record)
    elif waiting is not None and waiting[0] in (
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerConfigError",
        "RunContainerError",
    ):
        view.state = waiting_state(*waiting)
        view.last_state = terminated(record)
    else:
        view.state = terminated(record)
    return view


def container_views(worker: PodWorker) -> tuple[list[ContainerView], list[ContainerView]]:
    init_specs, main_specs = worker.specs()
    init_views = []
    initializing = False
    for spec in init_specs:
        sidecar = spec.get("restartPolicy") == "Always"
        view = container_view(worker, spec, sidecar, initializing)
        init_views.append(view)
        done = view.started if sidecar else (view.state.get("terminated") or {}).get("exitCode") == 0
        initializing = initializing or not done
    main_views = [container_view(worker, spec, False, initializing) for spec in main_specs]
    return init_views, main_views
