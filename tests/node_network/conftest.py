"""Fixtures for the pod network tests.

`cni_network` gives each test its own CNI network: a bridge `litekube-t<hex>`, a /24 in
10.244.200-249.x, namespaces named `litekube-t<hex>-<uid>` and a temporary data dir, so
tests never touch each other's (or a running agent's) pods. Whatever a test does, the
fixture ends with `cleanup_all()` and then checks that nothing with its names is left.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from litekube.node.network import CniNetwork
from litekube.node.network import host as network_host

PLUGIN_DIR = Path("/usr/lib/cni")


def root_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for plugin in ("bridge", "host-local", "portmap", "loopback"):
        if not (PLUGIN_DIR / plugin).exists():
            return f"CNI plugin {plugin} missing (containernetworking-plugins)"
    for tool in ("ip", "iptables", "iptables-save", "busybox"):
        if shutil.which(tool) is None:
            return f"{tool} missing"
    if subprocess.run(["iptables", "-w", "-t", "nat", "-S"], capture_output=True).returncode != 0:
        return "iptables does not work here"
    return None


def make_network(data_dir: Path, tag: str, **overrides: object) -> CniNetwork:
    third_octet = 200 + int(tag, 16) % 50
    options: dict[str, object] = {
        "pod_cidr": f"10.244.{third_octet}.0/24",
        "bridge": f"litekube-t{tag}",
        "network_name": f"litekube-test-{tag}",
        "netns_prefix": f"litekube-t{tag}-",
    }
    options.update(overrides)
    return CniNetwork(data_dir, **options)  # type: ignore[arg-type]


def leftovers(network: CniNetwork) -> list[str]:
    """Everything of this network still on the host (empty when clean)."""
    found = [f"netns {name}" for name in network_host.netns_list(network.netns_prefix)]
    if network_host.link_exists(network.bridge):
        found.append(f"bridge {network.bridge}")
    if network.ipam_dir.exists() and any(network.ipam_dir.rglob("10.244.*")):
        found.append(f"IP reservations in {network.ipam_dir}")
    saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    found += [f"rule {line}" for line in saved.splitlines() if f'\\"{network.network_name}\\"' in line]
    return found


@pytest.fixture
def tag() -> str:
    return secrets.token_hex(2)


@pytest.fixture
async def cni_network(tmp_path: Path, tag: str) -> AsyncIterator[CniNetwork]:
    reason = root_skip_reason()
    if reason:
        pytest.skip(reason)
    network = make_network(tmp_path / "data", tag)
    try:
        yield network
    finally:
        await network.cleanup_all()
        assert leftovers(network) == []
