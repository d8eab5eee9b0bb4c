"""Control-plane scale benchmarks (issue 3), each beside a baseline measured in the same run.

Everything runs against the real `litekube server` started as a subprocess and driven over
HTTPS with the admin certificate, so the figures include TLS, JSON, SQLite, the watch
fan-out to the controllers, and the controllers, scheduler and simulated kubelets that the
server process runs (`--disable-agent --simulated-nodes 100`). Server RSS is that one
process's VmRSS, sampled every 0.25 s (peak).

1. 100 Deployments x 100 replicas on 100 simulated nodes: from the first create until the
   Deployments report all 10,000 pods Ready (= Running: simulated pods become Running and
   Ready in one status write; a final pod LIST checks that they really are Running).
   Figures: pods/s end to end, the p99 latency of a probe that writes a ConfigMap every
   50 ms meanwhile, and the server's peak RSS. Baseline: the same number of bare pod
   creates (64 concurrent clients) against a server running no controllers, so the ratio
   shows what the controller chain costs on top of the writes it cannot avoid.
   If the run does not finish within `SCALE_BUDGET` seconds the rate at the size reached is
   reported and the unit text says so.
2. A rolling update of a 1,000-replica Deployment (maxSurge 25%, maxUnavailable 25%) on a
   fresh server with 100 simulated nodes: seconds from the image change until the Deployment
   is complete, while a pod watcher checks every event: pods not terminating never exceed
   replicas + maxSurge, Ready ones never drop below replicas - maxUnavailable (the unit text
   reports the extremes seen). Baseline: the time to create 1,000 pods directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson

BIN = Path(sys.executable).parent
Row = tuple[str, float, float, str]

# The reported figures are the full size; the environment can shrink a run for quick
# iterations, e.g. LITEKUBE_BENCH_SCALE=20x100/20 (deployments x replicas / nodes).
_SCALE = os.environ.get("LITEKUBE_BENCH_SCALE", "100x100/100")
DEPLOYMENTS, REPLICAS, NODES = (int(x) for x in _SCALE.replace("/", "x").split("x"))
ROLL_REPLICAS = int(os.environ.get("LITEKUBE_BENCH_ROLL", "1000"))
SCALE_BUDGET = 120.0  # seconds allowed for the 10,000-pod run before reporting a partial rate
ROLL_BUDGET = 90.0
PROBE_INTERVAL = 0.05
JSON_HEADERS = {"Content-Type": "application/json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _container(image: str) -> dict[str, Any]:
    return {
        "name": "web",
        "image": image,
        "ports": [{"containerPort": 80}],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bare"}},
        "spec": {"containers": [_container("nginx:1.21")]},
    }


def _deployment(name: str, replicas: int, image: str = "nginx:1.21") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [_container(image)]}},
        },
    }


class Server:
    """`litekube server` in a subprocess, plus an HTTPS session with the admin certificate."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.data = tmp / f"data-{_free_port()}"
        self.port = _free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss_kb = 0

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(BIN / "litekube"),
                "server",
                "--data-dir",
                str(self.data),
                "--port",
                str(self.port),
                "--bind-address",
                "127.0.0.1",
                "--disable-agent",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (self.data / "tls" / "admin.key").exists():
                try:
                    async with self.session(4) as s, s.get(f"{self.base}/readyz") as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, ssl.SSLError, OSError):
                    pass
            await asyncio.sleep(0.05)
        raise RuntimeError("litekube server did not become ready")

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.data / "tls" / "ca.crt"))
        ctx.load_cert_chain(self.data / "tls" / "admin.crt", self.data / "tls" / "admin.key")
        return ctx

    def session(self, limit: int = 64) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=self.ssl_context(), limit=limit)
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))

    def sample_rss(self) -> None:
        if self.proc is not None:
            self.peak_rss_kb = max(self.peak_rss_kb, _rss_kb(self.proc.pid))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.asynccontextmanager
async def running(tmp: Path, *args: str) -> AsyncIterator[Server]:
    server = Server(tmp, *args)
    try:
        await server.start()
        yield server
    finally:
        server.stop()


async def _get(s: aiohttp.ClientSession, url: str) -> Any:
    async with s.get(url) as r:
        body = await r.read()
        if r.status != 200:
            raise RuntimeError(f"GET {url}: {r.status} {body[:200]!r}")
        return orjson.loads(body)


async def _post(s: aiohttp.ClientSession, url: str, obj: dict[str, Any]) -> None:
    async with s.post(url, data=orjson.dumps(obj), headers=JSON_HEADERS) as r:
        body = await r.read()
        if r.status != 201:
            raise RuntimeError(f"POST {url}: {r.status} {body[:200]!r}")


async def _closed_loop(
    s: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]], workers: int
) -> float:
    """POST every body with `workers` concurrent clients; returns the elapsed seconds."""
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            await _post(s, url, body)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - t0


async def _wait_nodes_ready(s: aiohttp.ClientSession, base: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nodes = (await _get(s, f"{base}/api/v1/nodes"))["items"]
        ready = [
            n
            for n in nodes
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n.get("status", {}).get("conditions", [])
            )
        ]
        if len(ready) >= count:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"fewer than {count} simulated nodes became Ready")


class Probe:
    """Writes one ConfigMap every 50 ms and records each write's latency; samples RSS."""

    def __init__(self, server: Server, s: aiohttp.ClientSession) -> None:
        self.server = server
        self.s = s
        self.latencies: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Probe:
        url = f"{self.server.base}/api/v1/namespaces/default/configmaps"
        await _post(self.s, url, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}})
        self._task = asyncio.create_task(self._run(f"{url}/probe"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, url: str) -> None:
        i = 0
        next_tick = time.perf_counter()
        headers = {"Content-Type": "application/merge-patch+json"}
        while True:
            self.server.sample_rss()
            i += 1
            t = time.perf_counter()
            async with self.s.patch(url, data=orjson.dumps({"data": {"n": str(i)}}), headers=headers) as r:
                await r.read()
            self.latencies.append(time.perf_counter() - t)
            next_tick += PROBE_INTERVAL
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))


async def _ready_total(s: aiohttp.ClientSession, base: str) -> int:
    items = (await _get(s, f"{base}/apis/apps/v1/namespaces/default/deployments"))["items"]
    return sum(int(d.get("status", {}).get("readyReplicas") or 0) for d in items)


async def _running_pods(s: aiohttp.ClientSession, base: str) -> int:
    items = (await _get(s, f"{base}/api/v1/namespaces/default/pods"))["items"]
    return sum(1 for p in items if p.get("status", {}).get("phase") == "Running")


async def bare_creates(tmp: Path) -> tuple[float, float]:
    """(pods/s for DEPLOYMENTS*REPLICAS bare creates, seconds for ROLL_REPLICAS creates)."""
    async with running(tmp, "--disable-controllers") as server, server.session() as s:
        url = f"{server.base}/api/v1/namespaces/default/pods"
        small = await _closed_loop(s, url, [_pod(f"small-{i}") for i in range(ROLL_REPLICAS)], 64)
        total = DEPLOYMENTS * REPLICAS
        elapsed = await _closed_loop(s, url, [_pod(f"bare-{i}") for i in range(total)], 64)
        return total / elapsed, small


async def deployments_at_scale(tmp: Path) -> tuple[int, float, float, float]:
    """(pods Running, seconds, probe p99 seconds, peak RSS MiB) for 100 x 100 replicas."""
    async with running(tmp, "--simulated-nodes", str(NODES)) as server, server.session() as s:
        await _wait_nodes_ready(s, server.base, NODES)
        server.peak_rss_kb = 0
        url = f"{server.base}/apis/apps/v1/namespaces/default/deployments"
        target = DEPLOYMENTS * REPLICAS
        async with Probe(server, s) as probe:
            t0 = time.perf_counter()
            await _closed_loop(s, url, [_deployment(f"d{i}", REPLICAS) for i in range(DEPLOYMENTS)], 8)
            ready = 0
            while time.perf_counter() - t0 < SCALE_BUDGET:
                ready = await _ready_total(s, server.base)
                if ready >= target:
                    break
                await asyncio.sleep(0.25)
            elapsed = time.perf_counter() - t0
        running_pods = await _running_pods(s, server.base)
        if ready >= target and running_pods < target:
            raise RuntimeError(f"deployments report {ready} ready pods but only {running_pods} are Running")
        return min(ready, running_pods), elapsed, _p99(probe.latencies), server.peak_rss_kb / 1024


class RolloutWatcher:
    """Watches the Deployment's pods and ReplicaSets; records surge and availability extremes.

    Pods count towards the total unless terminating or finished, and towards availability
    when also Ready; both are kept as running counts so each event costs O(1). The sum of
    the ReplicaSets' spec.replicas is what upstream's maxSurge bounds directly.
    """

    def __init__(self, server: Server, s: aiohttp.ClientSession, app: str) -> None:
        self.server = server
        self.s = s
        self.app = app
        self.pods: dict[str, tuple[bool, bool]] = {}  # uid -> (counts towards total, ready)
        self.total = self.available = 0
        self.max_total = 0
        self.min_available = 1 << 30
        self.rs_replicas: dict[str, int] = {}  # ReplicaSet uid -> spec.replicas
        self.max_rs_total = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        query = f"labelSelector=app%3D{self.app}"
        pods = await _get(self.s, f"{self.server.base}/api/v1/namespaces/default/pods?{query}")
        for pod in pods["items"]:
            self._pod_event("ADDED", pod)
        sets = await _get(self.s, f"{self.server.base}/apis/apps/v1/namespaces/default/replicasets?{query}")
        for rs in sets["items"]:
            self._rs_event("ADDED", rs)
        self.max_total = self.total
        self.min_available = self.available
        self.max_rs_total = sum(self.rs_replicas.values())
        self._tasks = [
            asyncio.create_task(self._run("/api/v1", "pods", pods["metadata"]["resourceVersion"])),
            asyncio.create_task(
                self._run("/apis/apps/v1", "replicasets", sets["metadata"]["resourceVersion"])
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _pod_event(self, kind: str, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        counted_before, ready_before = self.pods.pop(uid, (False, False))
        self.total -= counted_before
        self.available -= ready_before
        if kind != "DELETED":
            status = pod.get("status") or {}
            counted = not pod["metadata"].get("deletionTimestamp") and status.get("phase") not in (
                "Succeeded",
                "Failed",
            )
            ready = counted and any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
            )
            self.pods[uid] = (counted, ready)
            self.total += counted
            self.available += ready
        if self._tasks:  # extremes count from the end of the initial listing on
            self.max_total = max(self.max_total, self.total)
            self.min_available = min(self.min_available, self.available)

    def _rs_event(self, kind: str, rs: dict[str, Any]) -> None:
        uid = rs["metadata"]["uid"]
        if kind == "DELETED":
            self.rs_replicas.pop(uid, None)
        else:
            self.rs_replicas[uid] = int((rs.get("spec") or {}).get("replicas") or 0)
        if self._tasks:
            self.max_rs_total = max(self.max_rs_total, sum(self.rs_replicas.values()))

    async def _run(self, prefix: str, plural: str, resource_version: str) -> None:
        url = (
            f"{self.server.base}{prefix}/namespaces/default/{plural}?watch=1&labelSelector=app%3D{self.app}"
            f"&resourceVersion={resource_version}"
        )
        handle = self._pod_event if plural == "pods" else self._rs_event
        async with self.s.get(url) as r:
            async for line in r.content:
                if not line.strip():
                    continue
                event = orjson.loads(line)
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                    handle(event["type"], event["object"])


async def _rollout_complete(s: aiohttp.ClientSession, base: str, name: str, replicas: int) -> bool:
    d = await _get(s, f"{base}/apis/apps/v1/namespaces/default/deployments/{name}")
    status = d.get("status") or {}
    return (
        int(status.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 0)
        and status.get("updatedReplicas") == replicas
        and status.get("replicas") == replicas
        and status.get("availableReplicas") == replicas
    )


async def rolling_update(tmp: Path) -> tuple[float, int, int, int, bool]:
    """(seconds, max pods seen, min ready seen, max ReplicaSet replicas sum, finished)."""
    name = "roll"
    async with running(tmp, "--simulated-nodes", str(NODES)) as server, server.session() as s:
        await _wait_nodes_ready(s, server.base, NODES)
        await _post(
            s, f"{server.base}/apis/apps/v1/namespaces/default/deployments", _deployment(name, ROLL_REPLICAS)
        )
        deadline = time.monotonic() + ROLL_BUDGET
        while not await _rollout_complete(s, server.base, name, ROLL_REPLICAS):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the {ROLL_REPLICAS}-replica Deployment was not available in {ROLL_BUDGET:.0f} s"
                )
            await asyncio.sleep(0.25)
        watcher = RolloutWatcher(server, s, name)
        await watcher.start()
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.22"}]}}}}
        t0 = time.perf_counter()
        url = f"{server.base}/apis/apps/v1/namespaces/default/deployments/{name}"
        headers = {"Content-Type": "application/strategic-merge-patch+json"}
        async with s.patch(url, data=orjson.dumps(patch), headers=headers) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"image change failed: {r.status}")
        finished = False
        while time.perf_counter() - t0 < ROLL_BUDGET:
            if await _rollout_complete(s, server.base, name, ROLL_REPLICAS):
                finished = True
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - t0
        await asyncio.sleep(0.5)  # let the watcher see the last deletions
        await watcher.stop()
        return elapsed, watcher.max_total, watcher.min_available, watcher.max_rs_total, finished


def _scale_rows(bare_rate: float, pods: int, elapsed: float, p99: float, rss: float) -> list[Row]:
    target = DEPLOYMENTS * REPLICAS
    size = f"{pods}/{target} pods" + (
        "" if pods >= target else f" (stopped at the {SCALE_BUDGET:.0f} s budget)"
    )
    return [
        (
            f"{DEPLOYMENTS} deploys x {REPLICAS} on {NODES} sim nodes: pods/s",
            pods / elapsed,
            bare_rate,
            f"pods Running/s end to end, {size} in {elapsed:.1f} s; baseline bare pod creates/s",
        ),
        ("  probe ConfigMap write p99 meanwhile", p99 * 1000, 0.0, "ms"),
        ("  server peak RSS", rss, 0.0, "MiB (target < 1024)"),
    ]


def _roll_rows(bare_1000: float, result: tuple[float, int, int, int, bool]) -> list[Row]:
    seconds, max_total, min_available, max_rs_total, finished = result
    surge_cap = ROLL_REPLICAS + ROLL_REPLICAS // 4
    floor = ROLL_REPLICAS - ROLL_REPLICAS // 4
    verdict = "respected" if max_total <= surge_cap and min_available >= floor else "VIOLATED"
    return [
        (
            f"rolling update of {ROLL_REPLICAS} replicas (25%/25%)",
            seconds,
            bare_1000,
            f"s{'' if finished else ' (NOT finished)'}; max pods {max_total} (cap {surge_cap}), "
            f"min ready {min_available} (floor {floor}): {verdict}; ReplicaSet replicas sum max "
            f"{max_rs_total}; baseline s to create {ROLL_REPLICAS} bare pods",
        )
    ]


async def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="litekube-ctrl-bench-") as tmp_name:
        tmp = Path(tmp_name)
        bare_rate, bare_1000 = await bare_creates(tmp)
        # each phase reports on its own: a failure in one must not hide the other's figures
        try:
            rows += _scale_rows(bare_rate, *await deployments_at_scale(tmp))
        except Exception as e:
            rows.append(("100 x 100 deployments", 0.0, bare_rate, f"FAILED: {e}"))
        try:
            rows += _roll_rows(bare_1000, await rolling_update(tmp))
        except Exception as e:
            rows.append((f"rolling update of {ROLL_REPLICAS} replicas", 0.0, bare_1000, f"FAILED: {e}"))
    return rows


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
