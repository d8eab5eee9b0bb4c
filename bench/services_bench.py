"""Service benchmarks (issue 5): the ClusterIP data path and EndpointSlice → rule latency.

Rows (name, figure, baseline, unit):
- HTTP requests/s and p99 latency through a ClusterIP vs straight to the pod IP: one
  nginx:1.21 pod behind a Service on a real `litekube server` (embedded node, its nftables
  proxy), the same aiohttp client on the host for both (REQUESTS requests, CONCURRENCY in
  flight), alternating pod / service ROUNDS times. Once with keep-alive connections, once
  with a new connection per request (every request then goes through the DNAT rules, not
  just conntrack). Target ≥ 0.95× the pod's throughput.
- EndpointSlice change → rule live, p50 and p99 in ms, with SERVICES services and
  SERVICES × ENDPOINTS endpoints loaded: a `ServiceProxy` in this process against a real API
  server (`--disable-agent --disable-controllers`: nothing else touches the slices), writing
  table `litekube-bench` in its own network namespace, so its 1,000 ClusterIPs cannot
  capture any real traffic on the host. Each of CHANGES changes replaces one address of one
  slice (PATCH); the clock stops when `nft monitor` in that namespace reports the new
  endpoint's dnat rule. Baseline: a hand-written `nft -f` of the same one-endpoint change
  (new endpoint chain, service chain rewritten, old endpoint chain deleted) on the same
  loaded table, timed the same way (start → monitor line).
- initial full sync of that table (informer caches already filled → rules applied) vs a
  bare `nft -f` of the same table text into an empty namespace.

DNS is bench/dns_bench.py. Needs root and the node tools; `run()` returns [] without them.
Everything (pods, servers, namespaces, tables) is removed in `finally` blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.network_bench import _percentile
from bench.node_bench import PODS_RT, Cluster, ReadyWatch, delete_pods, missing_tools, start_registry
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, Client
from litekube.machinery.clock import RealClock
from litekube.node.network import host as network_host
from litekube.proxy.apply import NftApplier, NftError
from litekube.proxy.proxier import ServiceProxy
from litekube.proxy.rules import Ruleset

REQUESTS = 5000
CONCURRENCY = 32
ROUNDS = 2
SERVICES = 1000
ENDPOINTS = 10  # per service: 10,000 in all
CHANGES = 50
TABLE = "litekube-bench"
NETNS = "litekube-bench-proxy"
LABEL = "services-bench"


def _rt(group: str, plural: str) -> ResourceType:
    rt = lookup(group, "v1", plural)
    assert rt is not None
    return rt


SERVICES_RT = _rt("", "services")
SLICES_RT = _rt("discovery.k8s.io", "endpointslices")


# --------------------------------------------------------------------------- (a) data path


async def _load(url: str, keep_alive: bool) -> tuple[float, list[float]]:
    """(elapsed seconds, per-request latencies) for REQUESTS GETs, CONCURRENCY at a time."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, force_close=not keep_alive)
    latencies: list[float] = []
    remaining = iter(range(REQUESTS))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as s:

        async def worker() -> None:
            for _ in remaining:
                begin = time.perf_counter()
                async with s.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url}: HTTP {response.status}")
                latencies.append(time.perf_counter() - begin)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - start, latencies


async def _wait_programmed(ip: str, timeout: float = 30) -> None:
    """Connect to a ClusterIP only once the proxy's table has it (else it would be routed off-host)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = await asyncio.create_subprocess_exec(
            "nft",
            "list",
            "table",
            "ip",
            "litekube",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        if ip.encode() in out:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the proxy never programmed {ip}")


async def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as s:
        while True:
            try:
                async with s.get(url) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)


def _nginx_pod() -> JSON:
    return {
        "metadata": {"name": f"{LABEL}-web", "namespace": "default", "labels": {"app": LABEL}},
        "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.21",
                    "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1},
                }
            ],
        },
    }


async def _compare(pod_url: str, service_url: str, keep_alive: bool) -> list[tuple[str, float, float, str]]:
    totals = {pod_url: 0.0, service_url: 0.0}
    latencies: dict[str, list[float]] = {pod_url: [], service_url: []}
    for url in (pod_url, service_url):  # warm-up: connections, nginx, conntrack
        await _load(url, keep_alive)
    for _ in range(ROUNDS):
        for url in (pod_url, service_url):
            elapsed, samples = await _load(url, keep_alive)
            totals[url] += elapsed
            latencies[url] += samples
    mode = f"keep-alive, {CONCURRENCY} conns" if keep_alive else "new conn per request"
    rate = {url: ROUNDS * REQUESTS / totals[url] for url in totals}
    return [
        (f"HTTP req/s ClusterIP vs pod IP ({mode})", rate[service_url], rate[pod_url], "req/s"),
        (f"HTTP p99 ClusterIP vs pod IP ({mode})", _percentile(latencies[service_url], 0.99) * 1000,
         _percentile(latencies[pod_url], 0.99) * 1000, "ms"),
    ]  # fmt: skip


async def data_path_rows(work: Path) -> list[tuple[str, float, float, str]]:
    registry = await asyncio.to_thread(start_registry, work / "registry")
    cluster = Cluster(work / "cluster", "--disable-ingress")
    try:
        registry.mirrors_yaml(cluster.data_dir / "registries.yaml")
        await cluster.start()
        await cluster.wait_node_ready()
        client = cluster.client
        service = await client.create(
            SERVICES_RT,
            {
                "metadata": {"name": LABEL, "namespace": "default"},
                "spec": {"selector": {"app": LABEL}, "ports": [{"port": 80, "targetPort": 80}]},
            },
            "default",
        )
        watch = ReadyWatch(client, LABEL)
        await watch.start()
        try:
            await client.create(PODS_RT, _nginx_pod(), "default")
            await watch.wait([f"{LABEL}-web"], 120)
        finally:
            await watch.stop()
        pod = await client.get(PODS_RT, f"{LABEL}-web", "default")
        pod_url = f"http://{pod['status']['podIP']}:80/"
        service_url = f"http://{service['spec']['clusterIP']}:80/"
        await _wait_http(pod_url)
        await _wait_programmed(service["spec"]["clusterIP"])
        await _wait_http(service_url)  # the endpoint reached the proxy's rules
        rows = await _compare(pod_url, service_url, keep_alive=True)
        rows += await _compare(pod_url, service_url, keep_alive=False)
        await client.delete(SERVICES_RT, LABEL, "default")
        await delete_pods(client, [f"{LABEL}-web"])
        return rows
    except Exception as e:
        raise RuntimeError(f"{e!r}; server log ends with: {cluster.log_tail()}") from e
    finally:
        try:
            await cluster.stop()
        finally:
            registry.stop()


# --------------------------------------------------------------------------- (b) rule latency


async def _nsenter(*args: str, stdin: str = "") -> str:
    process = await asyncio.create_subprocess_exec(
        "nsenter", f"--net={network_host.netns_path(NETNS)}", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate(stdin.encode())
    if process.returncode != 0:
        raise NftError(err.decode(errors="replace").strip() or f"{args[0]} exited {process.returncode}")
    return out.decode()


class NetnsNft:
    """The proxy's NftRunner, inside the benchmark's network namespace."""

    async def run(self, script: str) -> None:
        await _nsenter("nft", "-f", "-", stdin=script)

    async def has_table(self, table: str) -> bool:
        return f"table ip {table}" in (await _nsenter("nft", "list", "tables")).splitlines()


class Monitor:
    """`nft monitor rules` in the namespace; `wait_for(text)` returns when a rule containing it appears."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self._futures: dict[str, asyncio.Future[float]] = {}
        self._wanted: dict[str, asyncio.Future[float]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "nsenter", f"--net={network_host.netns_path(NETNS)}", "stdbuf", "-oL", "nft", "monitor", "rules",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        await asyncio.sleep(0.3)  # nft subscribes to the netlink group before its first read

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            now = time.perf_counter()
            line = raw.decode(errors="replace")
            if not line.startswith("add rule"):
                continue
            for text, future in list(self._wanted.items()):
                if text in line and not future.done():
                    future.set_result(now)
                    del self._wanted[text]

    async def wait_for(self, text: str, timeout: float = 10) -> float:
        """perf_counter() when the rule appeared; register before causing the change."""
        return await asyncio.wait_for(self._futures.pop(text), timeout)

    def expect(self, text: str) -> None:
        self._wanted[text] = self._futures[text] = asyncio.get_running_loop().create_future()

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def _slice(index: int, addresses: list[str]) -> JSON:
    return {
        "metadata": {
            "name": f"svc-{index}-bench",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": f"svc-{index}"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in addresses],
    }


def _address(serial: int) -> str:
    """Distinct 10.244.x.y addresses above the nodes' /24s; nothing answers and nothing is sent."""
    return f"10.244.{16 + serial // 250}.{serial % 250 + 1}"


async def _load_objects(client: Client) -> None:
    semaphore = asyncio.Semaphore(32)

    async def one(index: int) -> None:
        async with semaphore:
            body = {"metadata": {"name": f"svc-{index}", "namespace": "default"},
                    "spec": {"ports": [{"port": 80, "targetPort": 80}]}}  # fmt: skip
            await client.create(SERVICES_RT, body, "default")
            ips = [_address(index * ENDPOINTS + k) for k in range(ENDPOINTS)]
            await client.create(SLICES_RT, _slice(index, ips), "default")

    await asyncio.gather(*(one(i) for i in range(SERVICES)))


def _bare_change(applied: Ruleset, index: int, new_ip: str) -> tuple[str, str]:
    """(nft script, monitor text): svc-<index>'s first endpoint replaced by `new_ip`, by hand."""
    chain = next(n for n in applied.chains if n.startswith("service-") and n.endswith(f"/svc-{index}/tcp/80"))
    old = next(n for n in applied.chains if n.startswith("endpoint-") and f"/svc-{index}/tcp/80__" in n)
    new = f"endpoint-bare-{index}"
    t = f"ip {TABLE}"
    lines = [f"add chain {t} {new}", f"add rule {t} {new} ip saddr {new_ip} jump mark-for-masquerade",
             f"add rule {t} {new} meta l4proto tcp dnat to {new_ip}:80", f"flush chain {t} {chain}"]  # fmt: skip
    lines += [f"add rule {t} {chain} {rule.replace(old, new)}" for rule in applied.chains[chain].rules]
    lines += [f"flush chain {t} {old}", f"delete chain {t} {old}"]
    return "\n".join(lines) + "\n", f"dnat to {new_ip}:80"


async def rule_latency_rows(work: Path) -> list[tuple[str, float, float, str]]:
    cluster = Cluster(work / "api", "--disable-agent", "--disable-controllers", "--disable-ingress")
    sysctl = work / "sysctl"  # route_localnet of the host stays untouched
    (sysctl / "net/ipv4/conf/all").mkdir(parents=True)
    (sysctl / "net/ipv4/conf/all/route_localnet").write_text("1\n")
    proxy: ServiceProxy | None = None
    monitor = Monitor()
    await network_host.netns_add(NETNS)
    try:
        await cluster.start()
        await _load_objects(cluster.client)
        applier = NftApplier(NetnsNft(), sysctl_root=sysctl)
        proxy = ServiceProxy(cluster.client, [], RealClock(), table=TABLE, applier=applier,
                             manage_load_balancers=False)  # fmt: skip
        await proxy.start()
        deadline = time.monotonic() + 60
        while proxy.syncs == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the proxy never applied its first ruleset")
            await asyncio.sleep(0.05)
        full_sync = proxy.last_sync_seconds
        assert applier.applied is not None
        table_text = applier.applied.to_text()
        await monitor.start()

        changes: list[float] = []
        for change in range(CHANGES):
            index = change * (SERVICES // CHANGES)
            ips = [_address(index * ENDPOINTS + k) for k in range(ENDPOINTS)]
            ips[0] = _address(SERVICES * ENDPOINTS + change)
            monitor.expect(f"dnat to {ips[0]}:80")
            begin = time.perf_counter()
            patch = {"endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}
            await cluster.client.patch(SLICES_RT, f"svc-{index}-bench", patch, "default")
            changes.append(await monitor.wait_for(f"dnat to {ips[0]}:80") - begin)
            await asyncio.sleep(0.2)  # past the proxy's rate limit: each change meets an idle proxy

        bare: list[float] = []
        for change in range(CHANGES):
            index = change * (SERVICES // CHANGES) + 1  # services the proxy's changes did not touch
            script, text = _bare_change(applier.applied, index, _address(2 * SERVICES * ENDPOINTS + change))
            monitor.expect(text)
            begin = time.perf_counter()
            await _nsenter("nft", "-f", "-", stdin=script)
            bare.append(await monitor.wait_for(text) - begin)

        await proxy.stop()  # deletes the table
        proxy = None
        begin = time.perf_counter()
        await _nsenter("nft", "-f", "-", stdin=table_text)
        bare_full = time.perf_counter() - begin
        await _nsenter("nft", "delete", "table", "ip", TABLE)
    except Exception as e:
        raise RuntimeError(f"{e!r}; server log ends with: {cluster.log_tail()}") from e
    finally:
        await monitor.stop()
        if proxy is not None:
            with contextlib.suppress(Exception):
                await proxy.stop()
        await cluster.stop()
        await network_host.netns_delete(NETNS)  # takes any table left in it along
    ms = 1000.0
    loaded = f"{SERVICES // 1000}k svc/{SERVICES * ENDPOINTS // 1000}k eps"
    return [
        (f"EndpointSlice→rule live p50, {loaded} (vs nft -f)", statistics.median(changes) * ms,
         statistics.median(bare) * ms, "ms"),
        (f"EndpointSlice→rule live p99, {loaded} (vs nft -f)", _percentile(changes, 0.99) * ms,
         _percentile(bare, 0.99) * ms, "ms"),
        (f"proxy initial sync, {loaded} (vs nft -f same table)", full_sync * ms, bare_full * ms, "ms"),
    ]  # fmt: skip


async def run() -> list[tuple[str, float, float, str]]:
    if missing_tools() or subprocess.run(["which", "nsenter", "stdbuf"], capture_output=True).returncode:
        return []
    with tempfile.TemporaryDirectory(prefix="litekube-services-bench-") as tmp:
        work = Path(tmp)
        rows = await rule_latency_rows(work / "rules")
        rows += await data_path_rows(work / "data-path")
    return rows


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
