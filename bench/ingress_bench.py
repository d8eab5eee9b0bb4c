"""Ingress benchmarks (issue 6), each beside a baseline measured in the same run.

- requests/s and p99 latency through nginx (Ingress → upstream) vs straight to the backend,
  the same aiohttp client (keep-alive, 16 concurrent) and the same bounded request count,
  alternating backend / nginx ROUNDS times so that load from other processes on the machine
  falls on both sides alike (every connection is opened before the clock starts);
- time from creating an Ingress to its first 200 through nginx (no baseline: target < 1 s).

The backend is an aiohttp server in its own process on 127.0.0.1, so it does not share the
client's event loop; nginx runs with one worker on high ports. Everything is torn down at the
end, nginx included.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from litekube.apiserver.server import APIServer, APIServerConfig
from litekube.ingress.controller import ENDPOINT_SLICES, INGRESSES, SERVICES, IngressController
from litekube.machinery.clock import RealClock

REQUESTS = 4000
CONCURRENCY = 16
ROUNDS = 3

BACKEND = """
import sys
from aiohttp import web
async def handle(request):
    return web.Response(text="ok " + request.path)
app = web.Application()
app.router.add_get("/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _service(name: str, port: int) -> dict[str, object]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ports": [{"port": 80, "targetPort": port}]},
    }


def _slice(name: str, port: int) -> dict[str, object]:
    return {
        "metadata": {
            "name": f"{name}-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
        "ports": [{"name": "", "port": port}],
    }


def _ingress(name: str, host: str) -> dict[str, object]:
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "bench", "port": {"number": 80}}},
    }
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [path]}}]},
    }


async def _load(session: aiohttp.ClientSession, url: str, host: str) -> tuple[float, list[float]]:
    """(elapsed seconds, latencies) for REQUESTS GETs over CONCURRENCY keep-alive connections."""
    latencies: list[float] = []
    per_worker = REQUESTS // CONCURRENCY

    async def worker(count: int) -> None:
        for _ in range(count):
            t0 = time.perf_counter()
            async with session.get(url, headers={"Host": host}) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(time.perf_counter() - t0)

    # warm-up on every connection, so neither side pays for connecting (nginx: client and
    # upstream connections) inside the timed part
    await asyncio.gather(*(worker(10) for _ in range(CONCURRENCY)))
    latencies.clear()
    started = time.perf_counter()
    await asyncio.gather(*(worker(per_worker) for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, latencies


async def _compare(direct_url: str, ingress_url: str, host: str) -> tuple[float, float, float, float]:
    """(direct req/s, direct p99 ms, ingress req/s, ingress p99 ms), rounds alternating."""
    elapsed = {direct_url: 0.0, ingress_url: 0.0}
    latencies: dict[str, list[float]] = {direct_url: [], ingress_url: []}
    sessions = {
        url: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) for url in elapsed
    }
    try:
        for _ in range(ROUNDS):
            for url, session in sessions.items():
                seconds, samples = await _load(session, url, host)
                elapsed[url] += seconds
                latencies[url] += samples
    finally:
        for session in sessions.values():
            await session.close()

    def p99(samples: list[float]) -> float:
        samples.sort()
        return samples[int(len(samples) * 0.99) - 1] * 1000

    rate = {url: len(latencies[url]) / elapsed[url] for url in elapsed}
    return rate[direct_url], p99(latencies[direct_url]), rate[ingress_url], p99(latencies[ingress_url])


async def _first_200(port: int, host: str, timeout: float = 10.0) -> float:
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            try:
                async with session.get(f"http://127.0.0.1:{port}/", headers={"Host": host}) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.005)
    raise TimeoutError("the Ingress never answered 200")


async def run() -> list[tuple[str, float, float, str]]:
    with tempfile.TemporaryDirectory(prefix="litekube-ingress-bench-") as tmp:
        backend_port, http_port = _free_port(), _free_port()
        backend = await asyncio.create_subprocess_exec(sys.executable, "-c", BACKEND, str(backend_port))
        server = APIServer(
            APIServerConfig(data_dir=Path(tmp) / "api", port=_free_port(), bind_address="127.0.0.1")
        )
        await server.start()
        client = server.local_client()
        controller = IngressController(
            client,
            Path(tmp) / "ingress",
            http_port,
            _free_port(),
            "127.0.0.1",
            RealClock(),
            worker_processes="1",
        )
        try:
            await controller.start()
            await client.create(SERVICES, _service("bench", backend_port))
            await client.create(ENDPOINT_SLICES, _slice("bench", backend_port))
            await client.create(INGRESSES, _ingress("bench", "bench.example.com"))
            await _first_200(http_port, "bench.example.com")
            while not controller.idle:  # noqa: ASYNC110 (a property, polled briefly)
                await asyncio.sleep(0.01)
            direct_rps, direct_p99, ingress_rps, ingress_p99 = await _compare(
                f"http://127.0.0.1:{backend_port}/x", f"http://127.0.0.1:{http_port}/x", "bench.example.com"
            )
            created = time.perf_counter()
            await client.create(INGRESSES, _ingress("second", "second.example.com"))
            await _first_200(http_port, "second.example.com")
            first = time.perf_counter() - created
        finally:
            await controller.stop()
            await client.close()
            await server.stop()
            backend.terminate()
            await backend.wait()
    return [
        ("ingress: requests/s via nginx vs straight to backend", ingress_rps, direct_rps, "req/s"),
        ("ingress: p99 latency via nginx vs straight to backend", ingress_p99, direct_p99, "ms"),
        ("ingress: create Ingress -> first 200 (target < 1000)", first * 1000, 0.0, "ms"),
    ]


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
