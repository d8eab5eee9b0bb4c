"""A pod's container spec + its image's config → the runtime's `ContainerConfig` (pure).

Steps, in upstream's order (kuberuntime_container.go generateContainerConfig):
1. user: securityContext.runAsUser/runAsGroup (container over pod) over the image's User;
   runAsNonRoot is checked here and refused with upstream's messages (→ waiting reason
   CreateContainerConfigError), e.g.
   `container has runAsNonRoot and image will run as root (pod: "web_default(uid)", container: nginx)`;
2. argv: command/args against the image's Entrypoint/Cmd (`resolve_command`, $(VAR) expanded
   with the container's env, not the image's); working dir: spec, else image, else /;
3. env: the image's Env overridden by the resolved container env (see env.py);
4. mounts: volumeMounts (subPath joined under the volume's directory), then the pod's
   /etc/hosts, /etc/resolv.conf, /etc/hostname and the container's termination-message file,
   unless a volumeMount already covers that path;
5. resources → cgroup values (shares from requests, floor 2; quota/period 100000 from the
   cpu limit; memory limit), security → capabilities, privileged, read-only root,
   noNewPrivileges (allowPrivilegeEscalation: false), fsGroup/supplementalGroups as
   additional gids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litekube.node.kubelet.env import ConfigError, merge_image_env
from litekube.node.kubelet.events import format_pod
from litekube.node.kubelet.resources import container_resources
from litekube.node.runtime.seccomp import effective_profile
from litekube.node.runtime.types import (
    ContainerConfig,
    Mount,
    Security,
    User,
    resolve_command,
    resources_from_millis,
)

JSON = dict[str, Any]
TERMINATION_MESSAGE_PATH = "/dev/termination-log"


@dataclass
class PodFiles:
    """Per-pod files the kubelet writes and bind-mounts into every container."""

    hosts: Path | None = None
    resolv_conf: Path | None = None
    hostname: Path | None = None


@dataclass
class ContainerPlan:
    """Where this container's pieces live on the host (chosen by the pod worker)."""

    id: str
    bundle_dir: Path
    rootfs: Path
    log_path: Path
    termination_log: Path | None = None
    sandbox_id: str | None = None
    netns_path: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def _security_context(pod: JSON, container: JSON) -> tuple[JSON, JSON]:
    return ((pod.get("spec") or {}).get("securityContext") or {}), (container.get("securityContext") or {})


def parse_image_user(user: str, passwd: str = "", group: str = "") -> tuple[int | None, int | None]:
    """The image's `User` ("1000", "1000:1000", "nginx", "nginx:www") as (uid, gid).

    Names resolve through the image's /etc/passwd and /etc/group text when given; an
    unresolvable name gives None. Empty → root.
    """
    if not user:
        return 0, 0
    name, _, group_name = user.partition(":")

    def lookup(text: str, wanted: str, uid_column: int) -> tuple[int, int] | None:
        for line in text.splitlines():
            parts = line.split(":")
            if len(parts) > 3 and parts[0] == wanted and parts[2].isdigit():
                gid = int(parts[3]) if parts[3].isdigit() else 0
                return int(parts[uid_column]), gid
        return None

    uid: int | None
    gid: int | None = None
    if name.isdigit():
        uid = int(name)
    else:
        found = lookup(passwd, name, 2)
        uid, gid = (found[0], found[1]) if found else (None, None)
    if group_name:
        if group_name.isdigit():
            gid = int(group_name)
        else:
            found_group = lookup(group, group_name, 2)
            gid = found_group[0] if found_group else None
    if gid is None and uid is not None:
        gid = 0 if name.isdigit() else gid
    return uid, gid


def verify_run_as_non_root(pod: JSON, container: JSON, image_user: str) -> None:
    """Upstream's verifyRunAsNonRoot; raises ConfigError with its messages."""
    pod_sc, sc = _security_context(pod, container)
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    if not non_root:
        return
    meta = pod.get("metadata") or {}
    pod_text = format_pod(meta.get("name", ""), meta.get("namespace") or "default", meta.get("uid", ""))
    name = container.get("name", "")
    run_as = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if run_as is not None:
        if int(run_as) == 0:
            raise ConfigError(
                f'container\'s runAsUser breaks non-root policy (pod: "{pod_text}", container: {name})'
            )
        return
    user = image_user.partition(":")[0]
    if user and not user.isdigit():
        raise ConfigError(
            f"container has runAsNonRoot and image has non-numeric user ({user}), "
            f'cannot verify user is non-root (pod: "{pod_text}", container: {name})'
        )
    if not user or int(user) == 0:
        raise ConfigError(
            f'container has runAsNonRoot and image will run as root (pod: "{pod_text}", container: {name})'
        )


def container_user(pod: JSON, container: JSON, image_user: str, passwd: str = "", group: str = "") -> User:
    pod_sc, sc = _security_context(pod, container)
    image_uid, image_gid = parse_image_user(image_user, passwd, group)
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    gid = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    if uid is None:
        if image_uid is None:
            raise ConfigError(
                f"unable to find user {image_user.partition(':')[0]}: no matching entries in passwd file"
            )
        uid = image_uid
        if gid is None:
            gid = image_gid
    extra: list[int] = []
    if pod_sc.get("fsGroup") is not None:
        extra.append(int(pod_sc["fsGroup"]))
    extra += [int(g) for g in pod_sc.get("supplementalGroups") or () if int(g) not in extra]
    return User(int(uid), int(gid or 0), tuple(extra))


def container_security(container: JSON, pod: JSON | None = None) -> Security:
    sc = container.get("securityContext") or {}
    capabilities = sc.get("capabilities") or {}
    privileged = bool(sc.get("privileged"))
    return Security(
        capabilities_add=tuple(capabilities.get("add") or ()),
        capabilities_drop=tuple(capabilities.get("drop") or ()),
        privileged=privileged,
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        no_new_privileges=sc.get("allowPrivilegeEscalation") is False and not privileged,
        seccomp=effective_profile(pod or {}, container),
    )


def volume_mounts(container: JSON, volume_paths: dict[str, Path]) -> list[Mount]:
    mounts = []
    for mount in container.get("volumeMounts") or ():
        name = mount.get("name", "")
        if name not in volume_paths:
            raise ConfigError(
                f"cannot find volume {name!r} to mount into container {container.get('name')!r}"
            )
        source = volume_paths[name]
        sub_path = mount.get("subPath") or ""
        if sub_path:
            if sub_path.startswith("/") or ".." in Path(sub_path).parts:
                raise ConfigError(f"subPath {sub_path!r} must be a relative path without '..'")
            source = source / sub_path
            if not source.exists():
                source.mkdir(parents=True, exist_ok=True)
        mounts.append(Mount.bind(source, mount.get("mountPath", ""), bool(mount.get("readOnly"))))
    return mounts


def build_container_config(
    pod: JSON,
    container: JSON,
    image_config: JSON,
    env: list[tuple[str, str]],
    plan: ContainerPlan,
    volume_paths: dict[str, Path],
    files: PodFiles,
    hostname: str,
    passwd: str = "",
    group: str = "",
) -> ContainerConfig:
    """Everything the runtime needs to create this container; raises ConfigError."""
    meta = pod.get("metadata") or {}
    image_user = str(image_config.get("User") or "")
    verify_run_as_non_root(pod, container, image_user)
    user = container_user(pod, container, image_user, passwd, group)
    env_map = dict(env)
    args = resolve_command(
        image_config.get("Entrypoint"),
        image_config.get("Cmd"),
        container.get("command"),
        container.get("args"),
        env_map,
    )
    if not args:
        raise ConfigError("no command specified")
    full_env = merge_image_env(list(image_config.get("Env") or []), env)
    mounts = volume_mounts(container, volume_paths)
    covered = {m.destination for m in mounts}
    extra = [
        ("/etc/hosts", files.hosts),
        ("/etc/resolv.conf", files.resolv_conf),
        ("/etc/hostname", files.hostname),
    ]
    termination_path = container.get("terminationMessagePath") or TERMINATION_MESSAGE_PATH
    extra.append((termination_path, plan.termination_log))
    for destination, source in extra:
        if source is not None and destination not in covered:
            mounts.append(Mount.bind(source, destination))
    limits = container_resources(container)
    resources = resources_from_millis(limits.cpu_request_millis, limits.cpu_limit_millis, limits.memory_limit)
    return ContainerConfig(
        id=plan.id,
        pod_uid=meta.get("uid", ""),
        pod_name=meta.get("name", ""),
        pod_namespace=meta.get("namespace") or "default",
        name=container.get("name", ""),
        bundle_dir=plan.bundle_dir,
        rootfs=plan.rootfs,
        args=args,
        log_path=plan.log_path,
        env=full_env,
        working_dir=container.get("workingDir") or image_config.get("WorkingDir") or "/",
        user=user,
        tty=bool(container.get("tty")),
        stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        hostname=hostname,
        netns_path=plan.netns_path,
        sandbox_id=plan.sandbox_id,
        mounts=mounts,
        resources=resources,
        security=container_security(container, pod),
        labels=dict(plan.labels),
        annotations={"io.kubernetes.container.restartCount": plan.labels.get(RESTART_COUNT_LABEL, "0")},
    )


# Labels on every container so an agent restart can tell whose it is (adopt.py).
POD_UID_LABEL = "io.kubernetes.pod.uid"
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"
RESTART_COUNT_LABEL = "io.kubernetes.container.restartCount"
IMAGE_NAME_LABEL = "io.litekube.image.name"
IMAGE_ID_LABEL = "io.litekube.image.id"
IMAGE_REF_LABEL = "io.litekube.image.ref"
