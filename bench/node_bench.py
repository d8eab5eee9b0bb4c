"""Node agent benchmarks (issue 4): pod startup and agent memory on a real `litekube server`.

Rows (name, figure, baseline, unit):
- pod startup (create → Ready) p50 and p99 in ms of busybox pods (`sleep 3600`, image
  already present): the first ALONE pods one at a time, the other PODS - ALONE created BATCH
  at a time, each batch waited for before the next. "Create" is the moment before the POST;
  "Ready" is when our watch sees the Ready condition True. Baseline, same run and same
  shape: `ip netns add` + bridge/loopback CNI ADD + `runc run -d` of an equivalent busybox
  bundle joining that netns (no monitor, no logs, no API: the floor of runc and CNI),
  BARE_ROUNDS times one at a time, and PODS - ALONE times BATCH at a time. On this 2-core
  machine concurrent starts queue for the CPUs, so a batched pod is compared with a
  batched bare start, not with a lone one.
- server VmRSS in MiB with the PODS pods running, beside the same server's VmRSS with no
  pod (measured after a warm-up pod came and went, so the code paths are loaded on both
  sides); conmon processes are separate and their summed VmRSS is a second row.

Flow: local docker-registry with the test images (tests/fixtures/images.py) → mirrors file
→ bare baseline (own bridge litekube-bnode, 10.244.251.0/24, removed at once) → `litekube
server` (embedded node, ingress off) → warm-up pod (pulls busybox:1.36) → idle RSS → pods
(alone, then batched) → RSS → delete pods → stop the server → check that no container,
netns, mount or process of this run is left (raises if one is). Everything is torn down in
`finally` blocks.

`Cluster` (a server process with its client) is shared with bench/services_bench.py.
Needs root, runc, conmon, nft, skopeo and docker-registry; `run()` returns [] without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.network_bench import _bare_plugin, _percentile
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.client.kubeconfig import client_from_kubeconfig
from litekube.node.network import host as network_host
from litekube.node.network.iptables import remove_plugin_rules
from litekube.node.runtime import ContainerConfig, Security, new_container_id
from litekube.node.runtime.cgroups import pod_cgroup, remove_cgroup, remove_parent_if_empty
from litekube.node.runtime.runc import run_command
from litekube.node.runtime.sandbox import pause_rootfs
from litekube.node.runtime.spec import build_spec

PODS = 50
ALONE = 10  # the first ALONE pods start one at a time, the rest BATCH at a time
BATCH = 5
BARE_ROUNDS = 20
IMAGE = "busybox:1.36"  # not :latest, whose pull policy defaults to Always
LABEL = "node-bench"
BARE_NETWORK = "litekube-bnode"
BARE_SUBNET = "10.244.251.0/24"
BIN = Path(sys.executable).parent
TOOLS = ("runc", "conmon", "nft", "skopeo", "docker-registry", "busybox")


def _rt(group: str, plural: str) -> ResourceType:
    rt = lookup(group, "v1", plural)
    assert rt is not None
    return rt


PODS_RT = _rt("", "pods")
NODES_RT = _rt("", "nodes")


def missing_tools() -> list[str]:
    """What this machine lacks for a real node (empty when every tool is there and we are root)."""
    missing = [] if os.geteuid() == 0 else ["root"]
    missing += [t for t in TOOLS if shutil.which(t) is None and not Path(f"/usr/bin/{t}").exists()]
    return missing + [p for p in ("/usr/lib/cni/bridge",) if not Path(p).exists()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def processes_mentioning(text: str) -> dict[int, str]:
    """pid → command line of every process whose command line contains `text`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found[int(entry.name)] = cmdline.strip()
    return found


def other_nodes() -> dict[int, str]:
    """`litekube server` processes running an embedded node (one per machine: litekube0, 10.96.0.10)."""
    servers = processes_mentioning("litekube server")
    return {
        pid: cmd for pid, cmd in servers.items() if "--disable-agent" not in cmd and "bin/litekube" in cmd
    }


async def wait_for_node_slot(timeout: float = 90) -> None:
    """Wait until no other real node runs here (a test suite, say): two would fight over the bridge."""
    deadline = time.monotonic() + timeout
    while others := other_nodes():
        if time.monotonic() > deadline:
            raise RuntimeError(f"another litekube node is running here: {others}")
        await asyncio.sleep(1)


class Cluster:
    """`litekube server` in its own session on free ports, with a client from its kubeconfig."""

    def __init__(self, work: Path, *extra: str) -> None:
        self.work = work
        self.data_dir = work / "data"
        self.port = free_port()
        self.extra = list(extra)
        self.process: subprocess.Popen[bytes] | None = None
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        assert self._client is not None, "start() first"
        return self._client

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self) -> str:
        log = self.work / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    async def start(self, timeout: float = 90) -> None:
        if "--disable-agent" not in self.extra:
            await wait_for_node_slot()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(BIN / "litekube"),
            "server",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        command += ["--bind-address", "127.0.0.1", *self.extra]
        with open(self.work / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not (self.data_dir / "kubeconfig").exists() or not await self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"litekube server exited {self.process.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"litekube server not ready after {timeout:.0f} s: {self.log_tail()}")
            await asyncio.sleep(0.1)

    async def _ready(self) -> bool:
        if self._client is None:
            self._client = client_from_kubeconfig(self.data_dir / "kubeconfig", user_agent="litekube-bench")
        try:
            code, _ = await self.client.transport.request("GET", "/readyz")
        except OSError:
            return False
        return code == 200

    async def wait_node_ready(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"litekube server exited {self.process.returncode}: {self.log_tail()}")
            for node in (await self.client.list(NODES_RT))["items"]:
                conditions = (node.get("status") or {}).get("conditions") or []
                if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                    return str(node["metadata"]["name"])
            await asyncio.sleep(0.2)
        raise RuntimeError(f"no Ready node after {timeout:.0f} s: {self.log_tail()}")

    async def stop(self, timeout: float = 120) -> None:
        """SIGTERM (the agent then removes its containers, netns, table); SIGKILL the session after."""
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            await asyncio.to_thread(self.process.wait, 10)


def is_ready(pod: JSON) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class ReadyWatch:
    """Watches pods with label app=<label> and records when each is first seen Ready."""

    def __init__(self, client: Client, label: str, namespace: str = "default") -> None:
        self.client, self.label, self.namespace = client, label, namespace
        self.ready_at: dict[str, float] = {}
        self.uids: dict[str, str] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        listed = await self.client.list(PODS_RT, self.namespace, label_selector=f"app={self.label}")
        self._task = asyncio.create_task(self._run(listed["metadata"]["resourceVersion"]))

    async def _run(self, version: str) -> None:
        while True:
            stream = self.client.watch(
                PODS_RT, self.namespace, version, label_selector=f"app={self.label}", timeout_seconds=600
            )
            async for event in stream:
                pod = event["object"]
                meta = pod.get("metadata") or {}
                version = meta.get("resourceVersion") or version
                if event["type"] == "ERROR":
                    raise RuntimeError(f"pod watch failed: {pod}")
                if event["type"] in ("ADDED", "MODIFIED") and meta.get("name"):
                    self.uids[meta["name"]] = meta.get("uid", "")
                    if is_ready(pod) and meta["name"] not in self.ready_at:
                        self.ready_at[meta["name"]] = time.perf_counter()
                        self._changed.set()

    async def wait(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(n in self.ready_at for n in names):
            if self._task is not None and self._task.done():
                self._task.result()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"pods not Ready after {timeout:.0f} s: "
                                   f"{[n for n in names if n not in self.ready_at]}")  # fmt: skip
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def busybox_pod(name: str, label: str = LABEL) -> JSON:
    return {
        "metadata": {"name": name, "namespace": "default", "labels": {"app": label}},
        "spec": {
            "terminationGracePeriodSeconds": 1,  # `sleep` as PID 1 ignores SIGTERM
            "containers": [
                {"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}
            ],
        },
    }


async def delete_pods(client: Client, names: list[str], timeout: float = 90) -> None:
    """Delete and wait until the API has forgotten them (the kubelet confirmed the kill)."""
    for name in names:
        with contextlib.suppress(ApiError):
            await client.delete(PODS_RT, name, "default")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = (await client.list(PODS_RT, "default"))["items"]
        if not any(p["metadata"]["name"] in names for p in listed):
            return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"pods still present {timeout:.0f} s after deletion")


# --------------------------------------------------------------------------- leftovers


def mounts_under(directory: Path) -> list[str]:
    lines = Path("/proc/mounts").read_text().splitlines()
    return [line.split()[1] for line in lines if str(directory) in line.split()[1]]


async def leftovers(data_dir: Path, pod_uids: list[str]) -> list[str]:
    """Containers, network namespaces, mounts and processes of this run still on the host."""
    found = []
    _, listed, _ = await run_command("runc", "list", "-f", "json")
    for container in orjson.loads(listed or b"null") or []:
        if str(data_dir) in container.get("bundle", ""):
            found.append(f"container {container['id']}")
    found += [
        f"netns {n}" for n in network_host.netns_list("litekube-") if n.removeprefix("litekube-") in pod_uids
    ]
    found += [f"mount {mount}" for mount in mounts_under(data_dir)]
    found += [f"process {pid}: {cmd[:100]}" for pid, cmd in processes_mentioning(str(data_dir)).items()]
    return found


async def force_cleanup(data_dir: Path, pod_uids: list[str]) -> None:
    """After a failed shutdown: remove what a dead agent left (best effort)."""
    _, listed, _ = await run_command("runc", "list", "-f", "json")
    for container in orjson.loads(listed or b"null") or []:
        if str(data_dir) in container.get("bundle", ""):
            await run_command("runc", "delete", "--force", container["id"])
    for pid in processes_mentioning(str(data_dir)):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for uid in pod_uids:
        if network_host.netns_exists(f"litekube-{uid}"):
            await network_host.netns_delete(f"litekube-{uid}")
    for mount in reversed(mounts_under(data_dir)):
        await run_command("umount", "-l", mount)


# --------------------------------------------------------------------------- bare baseline


def _bare_configs(data_dir: Path) -> tuple[bytes, bytes]:
    bridge = {
        "cniVersion": "1.0.0",
        "name": BARE_NETWORK,
        "type": "bridge",
        "bridge": BARE_NETWORK,
        "isGateway": True,
        "ipMasq": True,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": BARE_SUBNET}]],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": str(data_dir / "ipam"),
        },
    }
    loopback = {"cniVersion": "1.0.0", "name": BARE_NETWORK, "type": "loopback"}
    return orjson.dumps(bridge), orjson.dumps(loopback)


async def _bare_one(work: Path, index: int, rootfs: Path, pod_uid: str, configs: tuple[bytes, bytes],
                    started: list[tuple[str, str]]) -> float:  # fmt: skip
    """Seconds for one netns + CNI ADD (bridge, loopback) + `runc run -d` of a busybox `sleep 3600`."""
    bridge, loopback = configs
    netns = f"{BARE_NETWORK}-{index}"
    config = ContainerConfig(
        id=new_container_id(), pod_uid=pod_uid, pod_name="bench", pod_namespace="default",
        name="bench", bundle_dir=work / "bundles" / str(index), rootfs=rootfs,
        args=["sleep", "3600"], log_path=work / "logs" / f"{index}.log",
        netns_path=network_host.netns_path(netns), security=Security(readonly_rootfs=True),
    )  # fmt: skip
    config.bundle_dir.mkdir(parents=True)
    (config.bundle_dir / "config.json").write_bytes(orjson.dumps(build_spec(config)))
    begin = time.perf_counter()
    await run_command("ip", "netns", "add", netns)
    started.append((netns, config.id))
    await _bare_plugin("ADD", "bridge", network_host.netns_path(netns), netns, bridge)
    await _bare_plugin("ADD", "loopback", network_host.netns_path(netns), netns, loopback)
    process = await asyncio.create_subprocess_exec(
        "runc", "run", "-d", "-b", str(config.bundle_dir), config.id,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    if await process.wait() != 0:
        raise RuntimeError("bare runc run -d failed")
    return time.perf_counter() - begin


async def bare_startup(work: Path, rounds: int = BARE_ROUNDS, batch: int = 1) -> list[float]:
    """Seconds per bare start (`_bare_one`), `rounds` of them, `batch` at a time (each batch
    waited for before the next, as the pods are), everything removed afterwards."""
    rootfs = pause_rootfs(work / "state")
    configs = _bare_configs(work)
    pod_uid = str(uuid.uuid4())
    samples: list[float] = []
    started: list[tuple[str, str]] = []  # (netns, container id)
    try:
        for first in range(0, rounds, batch):
            indexes = range(first, min(rounds, first + batch))
            samples += await asyncio.gather(
                *(_bare_one(work, i, rootfs, pod_uid, configs, started) for i in indexes)
            )
    finally:
        for netns, container_id in started:
            await run_command("runc", "delete", "--force", container_id)
            if network_host.netns_exists(netns):
                with contextlib.suppress(Exception):
                    await _bare_plugin("DEL", "bridge", network_host.netns_path(netns), netns, configs[0])
                await network_host.netns_delete(netns)
        await remove_plugin_rules(BARE_NETWORK)
        await network_host.link_delete(BARE_NETWORK)
        remove_cgroup(pod_cgroup(pod_uid))
        remove_parent_if_empty()
    return samples


# --------------------------------------------------------------------------- litekube


def start_registry(workdir: Path) -> Any:
    """tests/fixtures/images.py's LocalRegistry: the test images built from Debian packages.

    Imported by name so mypy checks this module, not the test fixtures (`.mirrors_yaml(path)`,
    `.stop()` are what we use)."""
    return importlib.import_module("tests.fixtures.images").start_registry(workdir)


async def _startups(cluster: Cluster, watch: ReadyWatch, names: list[str], batch: int) -> list[float]:
    """Seconds from create to Ready per pod, `batch` pods created at once, each batch waited for."""
    samples = []
    for first in range(0, len(names), batch):
        group = names[first : first + batch]
        created: dict[str, float] = {}

        async def create(name: str, created: dict[str, float] = created) -> None:
            created[name] = time.perf_counter()
            await cluster.client.create(PODS_RT, busybox_pod(name), "default")

        await asyncio.gather(*(create(n) for n in group))
        await watch.wait(group, 120)
        samples += [watch.ready_at[n] - created[n] for n in group]
    return samples


def conmon_rss_kib(data_dir: Path) -> tuple[int, int]:
    """(summed VmRSS, count) of the conmon processes watching this server's containers."""
    pids = [
        pid
        for pid, cmd in processes_mentioning(str(data_dir)).items()
        if Path(cmd.split()[0]).name == "conmon"
    ]
    return sum(rss_kib(pid) for pid in pids), len(pids)


async def _cluster_rows(work: Path) -> tuple[list[float], list[float], int, int, tuple[int, int]]:
    """(startup seconds one at a time, startup seconds BATCH at a time, idle server KiB,
    loaded server KiB, conmon KiB)."""
    registry = await asyncio.to_thread(start_registry, work / "registry")
    cluster = Cluster(work / "cluster", "--disable-ingress")
    uids: list[str] = []
    try:
        registry.mirrors_yaml(cluster.data_dir / "registries.yaml")
        await cluster.start()
        await cluster.wait_node_ready()
        watch = ReadyWatch(cluster.client, LABEL)
        await watch.start()
        try:
            warm = f"{LABEL}-warmup"
            await cluster.client.create(PODS_RT, busybox_pod(warm), "default")
            await watch.wait([warm], 120)  # pulls the image once; every later pod finds it present
            await delete_pods(cluster.client, [warm])
            await asyncio.sleep(2)  # let the agent settle after the teardown
            idle = rss_kib(cluster.pid)
            names = [f"{LABEL}-{i}" for i in range(PODS)]
            alone = await _startups(cluster, watch, names[:ALONE], 1)
            batched = await _startups(cluster, watch, names[ALONE:], BATCH)
            await asyncio.sleep(2)  # the pod workers go quiet once everything is Running
            loaded, conmons = rss_kib(cluster.pid), conmon_rss_kib(cluster.data_dir)
            uids = list(watch.uids.values())
            await delete_pods(cluster.client, list(watch.uids))
        finally:
            uids = list(watch.uids.values())
            await watch.stop()
    except Exception as e:
        # the temporary directory (and the server's log in it) is gone once we return
        raise RuntimeError(f"{e!r}; server log ends with: {cluster.log_tail()}") from e
    finally:
        try:
            await cluster.stop()
        finally:
            registry.stop()
            left = await leftovers(cluster.data_dir, uids)
            if left:
                await force_cleanup(cluster.data_dir, uids)
    if left:
        raise RuntimeError(f"left behind after the server stopped: {left}")
    return alone, batched, idle, loaded, conmons


async def run() -> list[tuple[str, float, float, str]]:
    if missing_tools():
        return []
    with tempfile.TemporaryDirectory(prefix="litekube-node-bench-") as tmp:
        work = Path(tmp)
        bare_alone = await bare_startup(work / "bare-alone")
        bare_batched = await bare_startup(work / "bare-batched", PODS - ALONE, BATCH)
        alone, batched, idle, loaded, conmons = await _cluster_rows(work)
    ms, mib = 1000.0, 1024.0
    one = f"{ALONE} pods one at a time (vs bare alone)"
    many = f"{PODS - ALONE} pods {BATCH} at a time (vs bare {BATCH} at a time)"
    return [
        (f"pod startup p50, {one}", statistics.median(alone) * ms, statistics.median(bare_alone) * ms, "ms"),
        (f"pod startup p99, {one}", _percentile(alone, 0.99) * ms, _percentile(bare_alone, 0.99) * ms, "ms"),
        (f"pod startup p50, {many}", statistics.median(batched) * ms, statistics.median(bare_batched) * ms,
         "ms"),
        (f"pod startup p99, {many}", _percentile(batched, 0.99) * ms, _percentile(bare_batched, 0.99) * ms,
         "ms"),
        (f"server RSS, {PODS} pods running (vs no pods)", loaded / mib, idle / mib, "MiB"),
        (
            f"conmon RSS summed, {conmons[1]} conmons (no baseline)",
            conmons[0] / mib,
            0.0,
            "MiB",
        ),
    ]  # fmt: skip


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
