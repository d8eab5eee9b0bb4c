"""Host-side state the pod network relies on: network namespaces, links and sysctls.

Namespaces are made with `ip netns add`, so they live at /run/netns/<name> and show in
`ip netns list` (a leak is visible to anyone, which is the point). Their names start with
a prefix containing `litekube`, followed by the pod uid: nothing else is needed to find
them again after an agent restart.

Sysctls (kube-proxy and k3s set the same):
- net.ipv4.ip_forward=1: pod traffic is routed through the host (bridge gateway).
- net.bridge.bridge-nf-call-iptables=1: bridged pod-to-pod packets pass through the
  netfilter hooks, so service DNAT also applies between pods on the same bridge. The
  sysctl exists only while the br_netfilter module is loaded; when it is missing we try
  `modprobe br_netfilter` and, if that is impossible (no modprobe in a container), record
  a warning instead of failing: pods still get networking, only same-bridge service
  traffic loses its DNAT.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from litekube.node.network.base import NetworkError
from litekube.node.network.commands import run

log = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
_PROC_SYS = Path("/proc/sys")


def netns_path(name: str) -> str:
    return str(NETNS_DIR / name)


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


async def netns_add(name: str) -> None:
    completed = await run("ip", "netns", "add", name)
    if not completed.ok and not netns_exists(name):
        raise NetworkError(f"creating network namespace: {completed.describe()}")


async def netns_delete(name: str) -> None:
    """Delete a namespace; a missing one is fine (teardown is idempotent)."""
    if not netns_exists(name):
        return
    completed = await run("ip", "netns", "delete", name)
    if not completed.ok and netns_exists(name):
        raise NetworkError(f"deleting network namespace: {completed.describe()}")


def netns_list(prefix: str) -> list[str]:
    """Names of the namespaces under /run/netns that start with `prefix`."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(entry.name for entry in NETNS_DIR.iterdir() if entry.name.startswith(prefix))


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


async def links_on_bridge(bridge: str) -> list[str]:
    """The ports (veths) attached to a bridge; [] when the bridge does not exist."""
    if not link_exists(bridge):
        return []
    completed = await run("ip", "-j", "link", "show", "master", bridge)
    if not completed.ok or not completed.stdout.strip():
        return []
    return [str(link["ifname"]) for link in orjson.loads(completed.stdout) if link.get("ifname")]


async def link_delete(name: str) -> None:
    if not link_exists(name):
        return
    completed = await run("ip", "link", "delete", name)
    if not completed.ok and link_exists(name):
        raise NetworkError(f"deleting link: {completed.describe()}")


@dataclass
class HostReport:
    """What preparing the host did and what it could not do (shown in docs and logs)."""

    ip_forward: bool = False
    bridge_nf_call_iptables: bool = False
    iptables: bool = False
    warnings: list[str] = field(default_factory=list)


def _write_sysctl(name: str, value: str) -> bool:
    path = _PROC_SYS / name.replace(".", "/")
    try:
        if path.read_text().strip() != value:
            path.write_text(value)
        return True
    except OSError:
        return False


async def prepare_host() -> HostReport:
    """Set the sysctls pod networking needs; report what was impossible instead of failing."""
    report = HostReport()
    report.ip_forward = _write_sysctl("net.ipv4.ip_forward", "1")
    if not report.ip_forward:
        report.warnings.append("cannot set net.ipv4.ip_forward=1: pods cannot reach beyond the bridge")
    if not (_PROC_SYS / "net/bridge").is_dir() and shutil.which("modprobe"):
        await run("modprobe", "br_netfilter")
    if (_PROC_SYS / "net/bridge").is_dir():
        report.bridge_nf_call_iptables = _write_sysctl("net.bridge.bridge-nf-call-iptables", "1")
    if not report.bridge_nf_call_iptables:
        report.warnings.append(
            "br_netfilter is not loaded (and cannot be loaded here): service DNAT will not apply "
            "to traffic between pods on the same bridge"
        )
    report.iptables = (await run("iptables", "-w", "-t", "nat", "-S", "POSTROUTING")).ok
    if not report.iptables:
        report.warnings.append(
            "iptables does not work (Debian package `iptables`): the bridge plugin's ipMasq and "
            "portmap will fail"
        )
    for warning in report.warnings:
        log.warning("pod network: %s", warning)
    return report
