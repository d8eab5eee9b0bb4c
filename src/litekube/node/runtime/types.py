"""What the kubelet hands the runtime, and what the runtime reports back.

The kubelet turns a Pod's container into a `ContainerConfig` (command resolved with
`resolve_command`, env merged, volumes as `Mount`s, resources converted with
`resources_from_millis`); a `Runtime` (see `base.py`) turns that into a running process
and answers with `ContainerStatus`. Everything here is plain data and pure functions so the
fake runtime and the kubelet's unit tests share it with the real one.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ID_PREFIX = "litekube-"

# Upstream's cgroup arithmetic (pkg/kubelet/cm/helpers_linux.go): shares are 1024 per CPU with
# a floor of 2; quota is millicores * period / 1000 with a floor of 1 ms.
MIN_SHARES = 2
SHARES_PER_CPU = 1024
DEFAULT_CPU_PERIOD = 100_000
MIN_QUOTA = 1_000


def new_container_id() -> str:
    """A fresh id: short enough that conmon's attach socket path stays under 108 bytes."""
    return ID_PREFIX + secrets.token_hex(10)


@dataclass(frozen=True)
class Mount:
    """One OCI mount: a volume, /etc/hosts, /etc/resolv.conf, the termination log..."""

    source: str
    destination: str
    type: str = "bind"
    options: tuple[str, ...] = ("rbind", "rprivate", "rw")

    @classmethod
    def bind(cls, source: str | Path, destination: str, readonly: bool = False) -> Mount:
        return cls(str(source), destination, "bind", ("rbind", "rprivate", "ro" if readonly else "rw"))


@dataclass(frozen=True)
class User:
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Resources:
    """Kernel units: cgroup cpu shares, CFS quota/period in µs, bytes, process count."""

    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    memory_limit: int | None = None
    pids_limit: int | None = None


def resources_from_millis(
    cpu_request_millis: int | None,
    cpu_limit_millis: int | None,
    memory_limit_bytes: int | None,
    pids_limit: int | None = None,
) -> Resources:
    """Kubernetes quantities → cgroup values, as the kubelet computes them.

    Example: requests.cpu=250m → shares 256; limits.cpu=500m → quota 50000 per 100000 µs.
    No request but a limit → shares follow the limit (the API server defaults request=limit).
    """
    request = cpu_request_millis if cpu_request_millis is not None else cpu_limit_millis
    shares = None
    if request is not None:
        shares = max(MIN_SHARES, request * SHARES_PER_CPU // 1000)
    quota = period = None
    if cpu_limit_millis is not None and cpu_limit_millis > 0:
        period = DEFAULT_CPU_PERIOD
        quota = max(MIN_QUOTA, cpu_limit_millis * DEFAULT_CPU_PERIOD // 1000)
    return Resources(shares, quota, period, memory_limit_bytes, pids_limit)


@dataclass(frozen=True)
class Security:
    """securityContext after the kubelet's checks (runAsNonRoot is refused before we get here)."""

    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    privileged: bool = False
    readonly_rootfs: bool = False
    no_new_privileges: bool = False
    seccomp: str = ""  # "", "Unconfined", "RuntimeDefault" or "Localhost/<path>" (seccomp.py)


@dataclass
class ContainerConfig:
    id: str
    pod_uid: str
    pod_name: str
    pod_namespace: str
    name: str
    bundle_dir: Path
    rootfs: Path
    args: list[str]
    log_path: Path
    env: list[tuple[str, str]] = field(default_factory=list)
    working_dir: str = "/"
    user: User = field(default_factory=User)
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    hostname: str = ""
    # The pod's network namespace from CNI (/var/run/netns/...); None → a new, empty one.
    netns_path: str | None = None
    # Id of the pod's sandbox container whose IPC and UTS namespaces (and, with no
    # netns_path, network namespace) this container joins; None → its own.
    sandbox_id: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    security: Security = field(default_factory=Security)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id.startswith(ID_PREFIX):
            raise ValueError(f"container id {self.id!r} must start with {ID_PREFIX!r}")


class ContainerState(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


@dataclass
class ContainerStatus:
    id: str
    state: ContainerState
    pid: int | None = None
    exit_code: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # "Completed" (exit 0), "Error", "OOMKilled": the words upstream puts in the pod status.
    reason: str = ""
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None


def exit_reason(exit_code: int, oom_killed: bool) -> str:
    if oom_killed:
        return "OOMKilled"
    return "Completed" if exit_code == 0 else "Error"


# $(VAR) references in command/args, with $$ as the escape (k8s.io/kubernetes
# third_party/forked/golang/expansion): "$(A)" → value of A; "$$(A)" → "$(A)"; an unknown
# "$(B)" stays as written.
_REFERENCE = re.compile(r"\$\$|\$\(([^)]*)\)")


def expand(text: str, variables: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return variables.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def resolve_command(
    image_entrypoint: Sequence[str] | None,
    image_cmd: Sequence[str] | None,
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """The process argv from the image config and the container spec (upstream's rules):

    - command given: command + args (the image's Entrypoint and Cmd are both ignored);
    - only args given: image Entrypoint + args;
    - neither: image Entrypoint + image Cmd.
    $(VAR) references in command and args expand against the container's env.
    """
    variables = env or {}
    command_x = [expand(part, variables) for part in command or []]
    args_x = [expand(part, variables) for part in args or []]
    if command_x:
        return command_x + args_x
    if args_x:
        return list(image_entrypoint or []) + args_x
    return list(image_entrypoint or []) + list(image_cmd or [])
