"""Pod network benchmark: CniNetwork against bare CNI calls measured in the same run.

Rows (name, figure, baseline, unit):
- pod network setup p50 and p99 in ms over 20 pods, one after another, through
  `CniNetwork.setup` (record on disk, `ip netns add`, bridge → loopback ADD through our
  async plugin runner), against the bare minimum for the same result: `ip netns add`
  plus the bridge and loopback plugins called directly with a hand-written config
  (asyncio subprocesses too, no records, no error handling).
- pod network teardown p50 in ms, against bare DEL calls plus `ip netns delete`.

Each side has its own bridge and /24 in 10.244.0.0/16 (litekube-bench, litekube-bbase);
both are removed at the end, even on failure. Needs root; without it `run()` returns [].
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from litekube.node.network import CniNetwork, PodRef
from litekube.node.network import host as network_host
from litekube.node.network.commands import run as run_command
from litekube.node.network.iptables import remove_plugin_rules

PODS = 20
PLUGIN_DIR = Path("/usr/lib/cni")


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _ours(data_dir: Path) -> tuple[list[float], list[float]]:
    network = CniNetwork(
        data_dir,
        pod_cidr="10.244.254.0/24",
        bridge="litekube-bench",
        network_name="litekube-bench",
        netns_prefix="litekube-bench-",
    )
    setups, teardowns = [], []
    try:
        await network.conflist()  # version detection and host preparation are once per process
        for index in range(PODS):
            start = time.perf_counter()
            await network.setup(PodRef(f"bench-{index}", "default", f"pod-{index}"), [])
            setups.append((time.perf_counter() - start) * 1000)
        for index in range(PODS):
            start = time.perf_counter()
            await network.teardown(f"bench-{index}")
            teardowns.append((time.perf_counter() - start) * 1000)
    finally:
        await network.cleanup_all()
    return setups, teardowns


async def _bare_plugin(command: str, plugin: str, netns: str, container_id: str, config: bytes) -> None:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": netns,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": str(PLUGIN_DIR),
    }
    completed = await run_command(str(PLUGIN_DIR / plugin), stdin=config, env=env)
    if not completed.ok:
        raise RuntimeError(completed.describe())


async def _bare(data_dir: Path) -> tuple[list[float], list[float]]:
    bridge = orjson.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "litekube-bbase",
            "type": "bridge",
            "bridge": "litekube-bbase",
            "isGateway": True,
            "ipMasq": True,
            "hairpinMode": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": "10.244.253.0/24"}]],
                "routes": [{"dst": "0.0.0.0/0"}],
                "dataDir": str(data_dir / "ipam"),
            },
        }
    )
    loopback = orjson.dumps({"cniVersion": "1.0.0", "name": "litekube-bbase", "type": "loopback"})
    setups, teardowns = [], []
    names = [f"litekube-bbase-{index}" for index in range(PODS)]
    try:
        for name in names:
            start = time.perf_counter()
            await run_command("ip", "netns", "add", name)
            await _bare_plugin("ADD", "bridge", f"/run/netns/{name}", name, bridge)
            await _bare_plugin("ADD", "loopback", f"/run/netns/{name}", name, loopback)
            setups.append((time.perf_counter() - start) * 1000)
        for name in names:
            start = time.perf_counter()
            await _bare_plugin("DEL", "loopback", f"/run/netns/{name}", name, loopback)
            await _bare_plugin("DEL", "bridge", f"/run/netns/{name}", name, bridge)
            await run_command("ip", "netns", "delete", name)
            teardowns.append((time.perf_counter() - start) * 1000)
    finally:
        for name in names:
            if network_host.netns_exists(name):
                await _bare_plugin("DEL", "bridge", f"/run/netns/{name}", name, bridge)
                await network_host.netns_delete(name)
        await remove_plugin_rules("litekube-bbase")
        await network_host.link_delete("litekube-bbase")
    return setups, teardowns


async def run() -> list[tuple[str, float, float, str]]:
    if os.geteuid() != 0 or not (PLUGIN_DIR / "bridge").exists():
        return []
    with tempfile.TemporaryDirectory(prefix="litekube-network-bench-") as directory:
        bare_setups, bare_teardowns = await _bare(Path(directory) / "bare")
        setups, teardowns = await _ours(Path(directory) / "ours")
    return [
        (
            f"pod network setup p50 ({PODS} pods) vs ip netns add + bridge/loopback ADD",
            statistics.median(setups),
            statistics.median(bare_setups),
            "ms",
        ),
        (
            f"pod network setup p99 ({PODS} pods) vs ip netns add + bridge/loopback ADD",
            _percentile(setups, 0.99),
            _percentile(bare_setups, 0.99),
            "ms",
        ),
        (
            "pod network teardown p50 vs bridge/loopback DEL + ip netns delete",
            statistics.median(teardowns),
            statistics.median(bare_teardowns),
            "ms",
        ),
    ]


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
