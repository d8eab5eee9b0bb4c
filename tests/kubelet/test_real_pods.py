"""The kubelet with the real parts: images from the local registry, runc + conmon, CNI.

Root only; skipped when a part is missing. Each test gets its own data dir, CNI bridge and
netns prefix; the fixture stops the kubelet with cleanup and then checks that no container,
network namespace or mount of the test is left, whether the test passed or not.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from litekube.api.resources import lookup
from litekube.client.base import Client
from tests.fixtures.images import LocalRegistry, local_registry  # noqa: F401
from tests.kubelet.fakes import GracefulFakeTransport

pytestmark = pytest.mark.root
PODS = lookup("", "v1", "pods")
CONFIGMAPS = lookup("", "v1", "configmaps")
assert PODS is not None and CONFIGMAPS is not None


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("/usr/sbin/runc", "/usr/bin/conmon", "/usr/lib/cni/bridge", "/bin/busybox"):
        if not Path(binary).exists():
            return f"{binary} missing"
    try:
        from litekube.node.images import ImageService  # noqa: F401
        from litekube.node.network import CniNetwork  # noqa: F401
        from litekube.node.runtime.runc import RuncRuntime  # noqa: F401
    except ImportError as e:
        return f"real node parts not importable yet: {e}"
    return None


@dataclass
class RealNode:
    client: Client
    transport: GracefulFakeTransport
    kubelet: Any
    data_dir: Path
    uids: set[str] = field(default_factory=set)

    async def create(self, pod: dict[str, Any]) -> dict[str, Any]:
        pod.setdefault("metadata", {}).setdefault("namespace", "default")
        pod["spec"]["nodeName"] = "litekube-test-node"
        pod["spec"].setdefault("restartPolicy", "Always")
        for container in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]:
            container.setdefault("imagePullPolicy", "IfNotPresent")
        created = await self.client.create(PODS, pod)
        self.uids.add(created["metadata"]["uid"])
        return created

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.transport.get_object(PODS, "default", name)

    async def wait(self, what: str, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.1)

    def container(self, name: str, container: str) -> dict[str, Any]:
        pod = self.pod(name) or {}
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return next((c for c in statuses if c["name"] == container), {})


def leftovers(data_dir: Path, netns_prefix: str, container_ids: set[str], pod_uids: set[str]) -> list[str]:
    found = []
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True).stdout.split()
    found += [f"container {c}" for c in listed if c in container_ids]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {line.split()[0]}" for line in netns.splitlines() if line.startswith(netns_prefix)]
    with open("/proc/mounts") as mounts:
        found += [f"mount {line.split()[1]}" for line in mounts if str(data_dir) in line]
    for uid in pod_uids:
        root = Path("/sys/fs/cgroup")
        for base in [root, *root.iterdir()]:
            if (base / "litekube" / f"pod{uid}").exists():
                found.append(f"cgroup {base / 'litekube' / f'pod{uid}'}")
    return found


@pytest.fixture
async def node(tmp_path: Path, local_registry: LocalRegistry) -> AsyncIterator[RealNode]:  # noqa: F811
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from litekube.machinery.clock import RealClock
    from litekube.node.images import ImageService
    from litekube.node.kubelet.context import OverlayRootfs
    from litekube.node.kubelet.kubelet import Kubelet
    from litekube.node.network import CniNetwork
    from litekube.node.runtime.runc import RuncRuntime

    tag = secrets.token_hex(2)
    data_dir = tmp_path / "litekube-data"
    data_dir.mkdir()
    mirrors = local_registry.mirrors_yaml(data_dir / "registries.yaml")
    network = CniNetwork(
        data_dir,
        pod_cidr=f"10.244.{200 + int(tag, 16) % 50}.0/24",
        bridge=f"litekube-k{tag}",
        network_name=f"litekube-ktest-{tag}",
        netns_prefix=f"litekube-k{tag}-",
    )
    runtime = RuncRuntime(data_dir / "runtime")
    images = ImageService(data_dir, mirrors_path=mirrors)
    clock = RealClock()
    transport = GracefulFakeTransport(clock)
    client = Client(transport)
    kubelet = Kubelet(
        client,
        data_dir,
        "litekube-test-node",
        runtime,
        network,
        images,
        clock=clock,
        rootfs=OverlayRootfs(),
        runtime_version="test",
        poll_interval=0.2,
    )
    seen: set[str] = set()
    real: RealNode | None = None
    try:
        await kubelet.start()
        real = RealNode(client, transport, kubelet, data_dir)
        yield real
    finally:
        # a test may have replaced the kubelet (agent restart): stop the live one
        kubelet = real.kubelet if real is not None else kubelet
        for worker in kubelet.workers.values():
            seen.update(r.id for r in worker.records())
            if worker.sandbox_id:
                seen.add(worker.sandbox_id)
        await kubelet.stop(cleanup=True)
        await images.close()
        left = leftovers(data_dir, network.netns_prefix, seen, real.uids if real else set())
        shutil.rmtree(data_dir, ignore_errors=True)
        assert left == []


SIMPLE_APP = {
    "metadata": {"name": "simple-app", "labels": {"app": "web-server"}},
    "spec": {
        "containers": [
            {
                "name": "nginx",
                "image": "nginx:1.21",
                "ports": [{"containerPort": 80}],
                "resources": {
                    "requests": {"memory": "128Mi", "cpu": "100m"},
                    "limits": {"memory": "256Mi", "cpu": "200m"},
                },
            }
        ]
    },
}


async def http_get(ip: str, path: str = "/") -> tuple[int, bytes]:
    # Running means the process started, not that nginx listens yet: retry refusals briefly.
    for _ in range(50):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, 80), 5)
            break
        except ConnectionRefusedError:
            await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"nothing listens on {ip}:80")
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return int(data.split(b" ")[1]), data


def cgroup_value(controller: str, cgroup: str, name: str) -> str:
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    base = Path("/sys/fs/cgroup") if v2 else Path("/sys/fs/cgroup") / controller
    return (base / cgroup.lstrip("/") / name).read_text().strip()


async def test_simple_app_serves_http_with_its_limits_then_deletes_cleanly(node: RealNode) -> None:
    from litekube.node.runtime.cgroups import cgroup_version, container_cgroup

    created = await node.create(dict(SIMPLE_APP))
    await node.wait(
        "simple-app Running",
        lambda: (node.pod("simple-app") or {}).get("status", {}).get("phase") == "Running",
    )
    pod = node.pod("simple-app")
    assert pod is not None
    ip = pod["status"]["podIP"]
    code, _ = await http_get(ip)
    assert code == 200
    found = node.kubelet.find_container("default", "simple-app", "nginx")
    assert found is not None
    cgroup = container_cgroup(created["metadata"]["uid"], found[0])
    if cgroup_version() == 2:
        assert cgroup_value("memory", cgroup, "memory.max") == str(256 * 2**20)
        assert cgroup_value("cpu", cgroup, "cpu.max") == "20000 100000"
    else:
        assert cgroup_value("memory", cgroup, "memory.limit_in_bytes") == str(256 * 2**20)
        assert cgroup_value("cpu", cgroup, "cpu.cfs_quota_us") == "20000"
        assert cgroup_value("cpu", cgroup, "cpu.shares") == "102"
    container_id = found[0]
    await node.client.delete(PODS, "simple-app", "default", grace_period_seconds=5)
    await node.wait("simple-app deleted", lambda: node.pod("simple-app") is None)
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True).stdout.split()
    assert container_id not in listed
    assert not (node.data_dir / "pods" / created["metadata"]["uid"]).exists()


async def test_sidecar_reads_nginx_log_from_the_shared_empty_dir(node: RealNode) -> None:
    await node.client.create(
        CONFIGMAPS,
        {
            "metadata": {"name": "fluent-bit-config", "namespace": "default"},
            "data": {"fluent-bit.conf": "[INPUT]\n"},
        },
    )
    pod = {
        "metadata": {"name": "web-app-with-sidecar"},
        "spec": {
            "containers": [
                {
                    "name": "web-app",
                    "image": "nginx:1.21",
                    "ports": [{"containerPort": 80}],
                    "volumeMounts": [{"name": "shared-logs", "mountPath": "/var/log/nginx"}],
                },
                {
                    "name": "log-shipper",
                    "image": "busybox",
                    "command": ["sh", "-c", "sleep 3600"],
                    "volumeMounts": [
                        {"name": "shared-logs", "mountPath": "/logs"},
                        {"name": "fluent-bit-config", "mountPath": "/fluent-bit/etc"},
                        {"name": "scratch", "mountPath": "/scratch"},
                    ],
                },
            ],
            "terminationGracePeriodSeconds": 1,  # busybox sh as pid 1 ignores SIGTERM
            "volumes": [
                {"name": "shared-logs", "emptyDir": {}},
                {"name": "fluent-bit-config", "configMap": {"name": "fluent-bit-config"}},
                {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
            ],
        },
    }
    await node.create(pod)
    await node.wait(
        "sidecar pod Running",
        lambda: (node.pod("web-app-with-sidecar") or {}).get("status", {}).get("phase") == "Running",
    )
    ip = (node.pod("web-app-with-sidecar") or {})["status"]["podIP"]
    code, _ = await http_get(ip, "/from-the-test")
    assert code == 404
    found = node.kubelet.find_container("default", "web-app-with-sidecar", "log-shipper")
    assert found is not None
    output = bytearray()

    async def collect(chunk: bytes) -> None:
        output.extend(chunk)

    code = await node.kubelet.ctx.runtime.exec(
        found[0],
        ["cat", "/logs/access.log", "/fluent-bit/etc/fluent-bit.conf"],
        stdout=collect,
        stderr=collect,
    )
    assert code == 0, output
    assert b"GET /from-the-test" in output and b"[INPUT]" in output
    output.clear()
    await node.kubelet.ctx.runtime.exec(found[0], ["grep", " /scratch ", "/proc/mounts"], stdout=collect)
    assert output.startswith(b"tmpfs /scratch tmpfs"), output


async def test_crashing_container_reaches_crash_loop_back_off(node: RealNode) -> None:
    await node.create(
        {
            "metadata": {"name": "crasher"},
            "spec": {
                "containers": [
                    {"name": "app", "image": "busybox", "command": ["sh", "-c", "echo dying; exit 3"]}
                ]
            },
        }
    )
    await node.wait(
        "CrashLoopBackOff",
        lambda: (
            (node.container("crasher", "app").get("state") or {}).get("waiting", {}).get("reason")
            == "CrashLoopBackOff"
        ),
    )
    status = node.container("crasher", "app")
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert status["lastState"]["terminated"]["reason"] == "Error"
    previous = node.kubelet.log_path("default", "crasher", "app", previous=True)
    assert previous is not None and b"stdout F dying" in previous.read_bytes()


async def test_read_only_root_filesystem_is_enforced(node: RealNode) -> None:
    def pod(name: str, read_only: bool) -> dict[str, Any]:
        return {
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "app",
                        "image": "busybox",
                        "command": ["sh", "-c", "touch /written"],
                        "securityContext": {"readOnlyRootFilesystem": read_only},
                    }
                ],
            },
        }

    await node.create(pod("read-only", True))
    await node.create(pod("writable", False))

    def finished(name: str) -> bool:
        return (node.pod(name) or {}).get("status", {}).get("phase") in ("Succeeded", "Failed")

    await node.wait("both finished", lambda: finished("read-only") and finished("writable"))
    assert (node.pod("read-only") or {})["status"]["phase"] == "Failed"
    assert node.container("read-only", "app")["state"]["terminated"]["exitCode"] == 1
    assert (node.pod("writable") or {})["status"]["phase"] == "Succeeded"


async def test_probes_drive_readiness_and_liveness_restarts(node: RealNode) -> None:
    probe = {"periodSeconds": 1, "initialDelaySeconds": 0, "timeoutSeconds": 1}
    await node.create(
        {
            "metadata": {"name": "probed"},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [
                    {
                        "name": "web-app",
                        "image": "nginx:1.21",
                        "ports": [{"name": "http", "containerPort": 80}],
                        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, **probe},
                        "livenessProbe": {
                            "httpGet": {"path": "/missing", "port": 80},
                            "failureThreshold": 2,
                            **probe,
                        },
                    }
                ],
            },
        }
    )
    await node.wait("ready", lambda: node.container("probed", "web-app").get("ready") is True)
    await node.wait(
        "a liveness restart", lambda: node.container("probed", "web-app").get("restartCount", 0) >= 1
    )
    events = [(e["reason"], e["message"]) for e in node.transport.objects(lookup("", "v1", "events"))]  # type: ignore[arg-type]
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404") in events
    assert ("Killing", "Container web-app failed liveness probe, will be restarted") in events


async def test_agent_restart_adopts_running_containers(node: RealNode) -> None:
    from litekube.node.kubelet.kubelet import Kubelet

    await node.create(dict(SIMPLE_APP))
    await node.wait(
        "Running", lambda: (node.pod("simple-app") or {}).get("status", {}).get("phase") == "Running"
    )
    first = node.kubelet.find_container("default", "simple-app", "nginx")
    assert first is not None
    old = node.kubelet
    await old.stop(cleanup=False)
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True).stdout.split()
    assert first[0] in listed  # still running without an agent
    ctx = old.ctx
    node.kubelet = Kubelet(
        node.client,
        node.data_dir,
        "litekube-test-node",
        ctx.runtime,
        ctx.network,
        ctx.images,
        clock=ctx.clock,
        rootfs=ctx.rootfs,
        runtime_version="test",
        poll_interval=0.2,
    )
    await node.kubelet.start()
    await node.wait(
        "adopted", lambda: node.kubelet.find_container("default", "simple-app", "nginx") is not None
    )
    await asyncio.sleep(1.0)  # a few sync rounds: nothing new may be started
    again = node.kubelet.find_container("default", "simple-app", "nginx")
    assert again is not None and again[0] == first[0]
    ours = [c for c in subprocess.run(["runc", "list", "-q"], capture_output=True, text=True).stdout.split()]
    assert sum(1 for c in ours if c in {first[0]}) == 1
    assert node.container("simple-app", "nginx")["restartCount"] == 0
    code, _ = await http_get((node.pod("simple-app") or {})["status"]["podIP"])
    assert code == 200
