"""ContainerConfig → OCI runtime `config.json` (runtime-spec 1.0.2, what runc 1.1 reads).

`build_spec(config, ...)` is pure: the caller supplies the facts it needs from the machine
(cgroup version, swap accounting, the sandbox's namespace paths). Defaults follow
containerd's CRI plugin so containers behave as they do on a real cluster:
- capabilities: docker/containerd's default set, then `drop` (ALL allowed) and `add`;
  privileged containers get every capability, no masked/read-only paths, all devices;
- mounts: proc, /dev tmpfs, devpts, /dev/shm (64 MiB), mqueue, sysfs (ro), cgroup (ro),
  then the kubelet's mounts (a kubelet mount on the same destination replaces a default);
- masked and read-only /proc and /sys paths as containerd's defaults;
- namespaces: new pid and mount; ipc/uts joined from the sandbox when given; network
  joined from the CNI netns path (or the sandbox's); a hostname only with a private UTS;
- RLIMIT_NOFILE 1024/1024; seccomp from securityContext.seccompProfile (seccomp.py; none
  for privileged containers, as containerd); no AppArmor.
"""

from __future__ import annotations

from typing import Any

from litekube.node.runtime.cgroups import container_cgroup
from litekube.node.runtime.seccomp import seccomp_section
from litekube.node.runtime.types import ContainerConfig, Mount

# docker/containerd's default capability set (oci/spec_opts.go defaultUnixCaps).
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

# Every capability up to CAP_CHECKPOINT_RESTORE (40): what "privileged" and "add: [ALL]" mean.
ALL_CAPABILITIES = (
    "CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID "
    "CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST "
    "CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO "
    "CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE "
    "CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE "
    "CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM "
    "CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE"
).split()

MASKED_PATHS = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

_NOSUID_NOEXEC_NODEV = ("nosuid", "noexec", "nodev")


def default_mounts(privileged: bool = False) -> list[Mount]:
    sys_mode = "rw" if privileged else "ro"
    return [
        Mount("proc", "/proc", "proc", _NOSUID_NOEXEC_NODEV),
        Mount("tmpfs", "/dev", "tmpfs", ("nosuid", "strictatime", "mode=755", "size=65536k")),
        Mount(
            "devpts",
            "/dev/pts",
            "devpts",
            ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
        ),
        Mount("shm", "/dev/shm", "tmpfs", (*_NOSUID_NOEXEC_NODEV, "mode=1777", "size=65536k")),
        Mount("mqueue", "/dev/mqueue", "mqueue", _NOSUID_NOEXEC_NODEV),
        Mount("sysfs", "/sys", "sysfs", (*_NOSUID_NOEXEC_NODEV, sys_mode)),
        Mount("cgroup", "/sys/fs/cgroup", "cgroup", (*_NOSUID_NOEXEC_NODEV, "relatime", sys_mode)),
    ]


def _normalise_capability(name: str) -> str:
    upper = name.upper()
    return upper if upper == "ALL" or upper.startswith("CAP_") else "CAP_" + upper


def capability_set(add: tuple[str, ...], drop: tuple[str, ...], privileged: bool) -> list[str]:
    """Upstream's order: start from the defaults, drop (ALL → nothing), then add (ALL → every)."""
    if privileged:
        return list(ALL_CAPABILITIES)
    adds = {_normalise_capability(c) for c in add}
    drops = {_normalise_capability(c) for c in drop}
    if "ALL" in adds:
        return list(ALL_CAPABILITIES)
    caps = [] if "ALL" in drops else [c for c in DEFAULT_CAPABILITIES if c not in drops]
    caps += sorted(c for c in adds if c not in caps)
    return caps


def _namespaces(
    config: ContainerConfig, sandbox_pid: int | None, pinned: dict[str, str] | None
) -> list[dict[str, str]]:
    def shared(kind: str) -> dict[str, str]:
        short = kind if kind != "network" else "net"
        if pinned is not None and short in pinned:
            return {"type": kind, "path": pinned[short]}
        if sandbox_pid is None:
            return {"type": kind}
        return {"type": kind, "path": f"/proc/{sandbox_pid}/ns/{short}"}

    if config.netns_path:
        network = {"type": "network", "path": config.netns_path}
    else:
        network = shared("network")
    return [{"type": "pid"}, shared("ipc"), shared("uts"), {"type": "mount"}, network]


def _resources(config: ContainerConfig, swap: bool) -> dict[str, Any]:
    res = config.resources
    devices: list[dict[str, Any]] = [{"allow": config.security.privileged, "access": "rwm"}]
    out: dict[str, Any] = {"devices": devices}
    cpu: dict[str, int] = {}
    if res.cpu_shares is not None:
        cpu["shares"] = res.cpu_shares
    if res.cpu_quota is not None:
        cpu["quota"] = res.cpu_quota
        cpu["period"] = res.cpu_period or 100_000
    if cpu:
        out["cpu"] = cpu
    if res.memory_limit is not None:
        # swap = limit: no swap on top of the memory limit, as the kubelet sets it.
        out["memory"] = {"limit": res.memory_limit, **({"swap": res.memory_limit} if swap else {})}
    if res.pids_limit is not None:
        out["pids"] = {"limit": res.pids_limit}
    return out


def build_spec(
    config: ContainerConfig,
    *,
    sandbox_pid: int | None = None,
    sandbox_namespaces: dict[str, str] | None = None,
    swap_accounting: bool = True,
) -> dict[str, Any]:
    """The OCI config for `config`; the pod sandbox's namespaces are joined through
    `sandbox_namespaces` (kind "ipc"/"uts"/"net" → pinned path) or `sandbox_pid`'s."""
    security = config.security
    env = [f"{name}={value}" for name, value in config.env]
    names = {name for name, _ in config.env}
    if "PATH" not in names:
        env.insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    if config.hostname and "HOSTNAME" not in names:
        env.append(f"HOSTNAME={config.hostname}")
    caps = capability_set(security.capabilities_add, security.capabilities_drop, security.privileged)
    # A non-root process starts with empty effective/permitted sets (what exec(2) gives a
    # non-root program anyway); the bounding set still limits setuid binaries.
    active = caps if config.user.uid == 0 else []
    process: dict[str, Any] = {
        "terminal": config.tty,
        "user": {
            "uid": config.user.uid,
            "gid": config.user.gid,
            **({"additionalGids": list(config.user.additional_gids)} if config.user.additional_gids else {}),
        },
        "args": list(config.args),
        "env": env,
        "cwd": config.working_dir or "/",
        "capabilities": {
            "bounding": caps,
            "effective": active,
            "permitted": active,
            # Ambient stays empty: non-root processes get no capabilities, as upstream.
            "inheritable": [],
            "ambient": [],
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": security.no_new_privileges,
    }
    if config.tty:
        process["consoleSize"] = {"height": 24, "width": 80}
    replaced = {m.destination for m in config.mounts}
    mounts = [m for m in default_mounts(security.privileged) if m.destination not in replaced]
    mounts += config.mounts
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": str(config.rootfs), "readonly": security.readonly_rootfs},
        "mounts": [
            {"destination": m.destination, "type": m.type, "source": m.source, "options": list(m.options)}
            for m in mounts
        ],
        "annotations": {
            "io.kubernetes.pod.uid": config.pod_uid,
            "io.kubernetes.pod.name": config.pod_name,
            "io.kubernetes.pod.namespace": config.pod_namespace,
            "io.kubernetes.container.name": config.name,
            **config.annotations,
        },
        "linux": {
            "cgroupsPath": container_cgroup(config.pod_uid, config.id),
            "namespaces": _namespaces(config, sandbox_pid, sandbox_namespaces),
            "resources": _resources(config, swap_accounting),
        },
    }
    # runc refuses a hostname without a private UTS namespace; a joined one already has it.
    if config.hostname and sandbox_pid is None and not sandbox_namespaces:
        spec["hostname"] = config.hostname
    if not security.privileged:
        spec["linux"]["maskedPaths"] = list(MASKED_PATHS)
        spec["linux"]["readonlyPaths"] = list(READONLY_PATHS)
        section = seccomp_section(security.seccomp, caps)
        if section is not None:
            spec["linux"]["seccomp"] = section
    return spec
