"""The kubelet's Event reasons and messages, worded as upstream's kubelet writes them.

Everything here is a pure function returning (type, reason, message); the pod worker
records them with the machinery's `EventRecorder` (which aggregates repeats into `count`).
Upstream sources: pkg/kubelet/events/event.go (reasons), images/image_manager.go (pull
messages), kuberuntime/kuberuntime_container.go (Created/Started/Killing), prober/.
"""

from __future__ import annotations

from litekube.machinery.events import NORMAL, WARNING

Event = tuple[str, str, str]


def format_pod(name: str, namespace: str, uid: str) -> str:
    """Upstream's `format.Pod`: name_namespace(uid)."""
    return f"{name}_{namespace}({uid})"


def _seconds(value: float) -> str:
    # Go prints durations like 1.234s; round to milliseconds as kubectl users see them.
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def pulling(image: str) -> Event:
    return NORMAL, "Pulling", f'Pulling image "{image}"'


def pulled(image: str, seconds: float, waited: float, size: int) -> Event:
    return (
        NORMAL,
        "Pulled",
        f'Successfully pulled image "{image}" in {_seconds(seconds)} '
        f"({_seconds(waited)} including waiting). Image size: {size} bytes.",
    )


def already_present(image: str) -> Event:
    return NORMAL, "Pulled", f'Container image "{image}" already present on machine'


def pull_failed(image: str, error: str) -> Event:
    return WARNING, "Failed", f'Failed to pull image "{image}": {error}'


def error_reason(reason: str) -> Event:
    """The second `Failed` event upstream sends after a pull/config error: `Error: ErrImagePull`."""
    return WARNING, "Failed", f"Error: {reason}"


def pull_backoff(image: str) -> Event:
    return NORMAL, "BackOff", f'Back-off pulling image "{image}"'


def created(container: str) -> Event:
    return NORMAL, "Created", f"Created container: {container}"


def started(container: str) -> Event:
    return NORMAL, "Started", f"Started container {container}"


def killing(container: str, why: str = "") -> Event:
    return NORMAL, "Killing", why or f"Stopping container {container}"


def restart_backoff(container: str, pod: str) -> Event:
    return WARNING, "BackOff", f"Back-off restarting failed container {container} in pod {pod}"


def unhealthy(probe_kind: str, output: str) -> Event:
    return WARNING, "Unhealthy", f"{probe_kind.capitalize()} probe failed: {output}"


def failed_mount(volume: str, error: str) -> Event:
    return WARNING, "FailedMount", f'MountVolume.SetUp failed for volume "{volume}" : {error}'


def failed_sandbox(error: str) -> Event:
    return (
        WARNING,
        "FailedCreatePodSandBox",
        f"Failed to create pod sandbox: rpc error: code = Unknown desc = {error}",
    )


def failed_prestop(container: str, error: str) -> Event:
    return WARNING, "FailedPreStopHook", f"PreStopHook failed: {error}"


def failed_poststart(container: str, error: str) -> Event:
    return WARNING, "FailedPostStartHook", f"PostStartHook failed: {error}"
