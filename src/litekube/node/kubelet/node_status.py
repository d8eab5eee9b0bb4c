"""This machine as a Node: capacity, allocatable, addresses, nodeInfo, conditions, Lease.

Facts come from the host (functions take their paths so tests feed fixtures):
- cpu = `os.cpu_count()`, memory = MemTotal of /proc/meminfo, ephemeral-storage = size of
  the data dir's filesystem, pods = 110;
- allocatable = capacity minus small reservations (100m cpu, 256Mi memory and the
  kubelet's hard eviction threshold memory.available<100Mi, 10% of the disk), as a
  kubelet with system-reserved set would report;
- InternalIP = the address the default route leaves from (`machinery.hostnet.primary_ipv4`,
  which the API server also advertises), 127.0.0.1 when there is none; Hostname = node name;
- nodeInfo: kernel (uname), OS image (PRETTY_NAME of /etc/os-release), kubeletVersion,
  containerRuntimeVersion `runc://<version>`, architecture amd64/arm64, machine-id,
  product_uuid (or a hash) and boot_id;
- conditions with upstream's reasons and messages; heartbeat every status update.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from litekube.machinery.clock import rfc3339
from litekube.machinery.hostnet import primary_ipv4 as primary_ipv4  # shared with the API server
from litekube.version import KUBERNETES_GIT_VERSION

JSON = dict[str, Any]
POD_CIDR = "10.244.0.0/24"
KUBELET_PORT = 10250  # where a joined agent serves pod streams (the embedded node serves none)
MAX_PODS = 110
RESERVED_MILLICPU = 100
RESERVED_MEMORY = 256 * 2**20 + 100 * 2**20
RESERVED_DISK_FRACTION = 0.10

CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def memory_total(meminfo: Path = Path("/proc/meminfo")) -> int:
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def disk_total(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_blocks * stats.f_frsize


def os_image(os_release: Path = Path("/etc/os-release")) -> str:
    try:
        text = os_release.read_text()
    except OSError:
        return "Linux"
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?$', text, re.MULTILINE)
    return match.group(1) if match else "Linux"


def architecture(machine: str | None = None) -> str:
    machine = machine or platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def runc_version(runc: str = "/usr/sbin/runc") -> str:
    try:
        out = subprocess.run(
            [runc, "--version"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(r"runc version (\S+)", out)
    return match.group(1) if match else "unknown"


def _read_id(path: str, fallback: str) -> str:
    try:
        value = Path(path).read_text().strip()
    except OSError:
        value = ""
    return value or hashlib.sha256(fallback.encode()).hexdigest()[:32]


def _quantity_bytes(value: int) -> str:
    return f"{value // 1024}Ki"


def capacity(data_dir: Path, cpus: int | None = None, memory: int | None = None) -> tuple[JSON, JSON]:
    """(capacity, allocatable) as the kubelet reports them."""
    cpu_count = cpus or os.cpu_count() or 1
    mem = memory if memory is not None else memory_total()
    disk = disk_total(data_dir)
    cap = {
        "cpu": str(cpu_count),
        "memory": _quantity_bytes(mem),
        "ephemeral-storage": _quantity_bytes(disk),
        "pods": str(MAX_PODS),
        "hugepages-2Mi": "0",
    }
    alloc = {
        "cpu": f"{max(cpu_count * 1000 - RESERVED_MILLICPU, 100)}m",
        "memory": _quantity_bytes(max(mem - RESERVED_MEMORY, 0)),
        "ephemeral-storage": str(int(disk * (1 - RESERVED_DISK_FRACTION))),
        "pods": str(MAX_PODS),
        "hugepages-2Mi": "0",
    }
    return cap, alloc


def node_info(name: str, runtime_version: str) -> JSON:
    uname = platform.uname()
    return {
        "machineID": _read_id("/etc/machine-id", "machine" + name),
        "systemUUID": _read_id("/sys/class/dmi/id/product_uuid", "uuid" + name).lower(),
        "bootID": _read_id("/proc/sys/kernel/random/boot_id", "boot" + name),
        "kernelVersion": uname.release,
        "osImage": os_image(),
        "containerRuntimeVersion": f"runc://{runtime_version}",
        "kubeletVersion": KUBERNETES_GIT_VERSION,
        "kubeProxyVersion": KUBERNETES_GIT_VERSION,
        "operatingSystem": "linux",
        "architecture": architecture(),
    }


def node_object(name: str, arch: str | None = None, pod_cidr: str = POD_CIDR) -> JSON:
    arch = arch or architecture()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": arch,
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
    }


def node_status(
    name: str,
    cap: JSON,
    alloc: JSON,
    host_ip: str,
    info: JSON,
    now: datetime,
    old: JSON | None = None,
    images: list[JSON] | None = None,
    kubelet_port: int = KUBELET_PORT,
) -> JSON:
    """The Node's status; each condition keeps its lastTransitionTime while unchanged."""
    beat = rfc3339(now)
    previous = {c.get("type"): c for c in (old or {}).get("conditions") or ()}
    conditions = []
    for type_, status, reason, message in CONDITIONS:
        before = previous.get(type_)
        since = before.get("lastTransitionTime") if before and before.get("status") == status else beat
        conditions.append(
            {
                "type": type_,
                "status": status,
                "lastHeartbeatTime": beat,
                "lastTransitionTime": since,
                "reason": reason,
                "message": message,
            }
        )
    result: JSON = {
        "capacity": cap,
        "allocatable": alloc,
        "conditions": conditions,
        "addresses": [{"type": "InternalIP", "address": host_ip}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": info,
    }
    if images is not None:
        result["images"] = images
    return result
