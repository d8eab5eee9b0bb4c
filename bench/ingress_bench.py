"""Ingress benchmarks (issue 6), each beside a baseline measured in the same run.

- requests/s and p99 latency through nginx (client → Ingress nginx → backend) vs the same client
  straight to the backend. Fair by construction: the same client, the same 16 keep-alive
  connections, the same GET with the same Host header, a 1 s warm-up of each side (connections
  opened on both hops, nginx's upstream pool filled), then ROUNDS alternating rounds of SECONDS
  each, so load from other processes on this shared machine falls on both sides alike.
  The client is `wrk` (Debian package, C): a Python client spends ~40 µs of CPU per request, more
  than nginx and the backend, and on 2 cores it would mostly measure itself. Without wrk, an
  aiohttp client runs the same time-boxed rounds (the row name says which client ran);
- nginx's CPU time per proxied request (its workers' utime+stime from /proc) beside the backend's
  per request in the direct rounds: the figure the nginx config can change, and far less noisy
  than requests/s on a shared machine;
- time from creating an Ingress to its first 200 through nginx (no baseline: target < 1 s).

The backend is an aiohttp server in its own process on 127.0.0.1; nginx runs as litekube runs it
(worker_processes auto), on high ports. Everything is torn down at the end, nginx included.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from litekube.apiserver.server import APIServer, APIServerConfig
from litekube.ingress.controller import ENDPOINT_SLICES, INGRESSES, SERVICES, IngressController
from litekube.ingress.nginx_process import NginxProcess
from litekube.machinery.clock import RealClock

CONNECTIONS = 16
SECONDS = 2  # per round and side
ROUNDS = 5
WARMUP = 1
HOST = "bench.example.com"
TICKS = os.sysconf("SC_CLK_TCK")

BACKEND = """
import sys
from aiohttp import web
async def handle(request):
    return web.Response(text="ok " + request.path)
app = web.Application()
app.router.add_get("/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


@dataclass
class Round:
    requests: int
    seconds: float
    p99_ms: float


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of `pids` (fields 14 and 15 of /proc/<pid>/stat); gone processes count 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


async def _wrk(url: str, seconds: int) -> Round:
    """One bounded wrk run: 1 thread, CONNECTIONS keep-alive connections, `seconds` long."""
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Host: {HOST}",
        url,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), seconds + 30)
    text = out.decode()
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    if proc.returncode != 0 or total is None or p99 is None or "Non-2xx" in text:
        raise RuntimeError(f"wrk failed on {url}: {text}")
    elapsed = float(total.group(2)) * _UNITS_MS[total.group(3)] / 1000
    return Round(int(total.group(1)), elapsed, float(p99.group(1)) * _UNITS_MS[p99.group(2)])


async def _aiohttp(url: str, seconds: int) -> Round:
    """The fallback client: CONNECTIONS loops on one keep-alive session for `seconds`."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with session.get(url, headers={"Host": HOST}) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Round(len(latencies), elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000)


async def _compare(
    direct_url: str, ingress_url: str, backend_pid: int, nginx_pid: int
) -> tuple[str, dict[str, list[Round]], float, float]:
    """(client, rounds per side, nginx CPU µs per proxied request, backend CPU µs per direct request)."""
    client = "wrk" if shutil.which("wrk") else "aiohttp"
    drive = _wrk if client == "wrk" else _aiohttp
    rounds: dict[str, list[Round]] = {"direct": [], "ingress": []}
    cpu = {"direct": 0.0, "ingress": 0.0}
    for url in (direct_url, ingress_url):
        await drive(url, WARMUP)
    for _ in range(ROUNDS):
        for side, url, pids in (
            ("direct", direct_url, [backend_pid]),
            ("ingress", ingress_url, _children(nginx_pid)),  # the workers, as they are now
        ):
            before = _cpu_seconds(pids)
            rounds[side].append(await drive(url, SECONDS))
            cpu[side] += _cpu_seconds(pids) - before

    def per_request(side: str) -> float:
        return cpu[side] * 1e6 / sum(r.requests for r in rounds[side])

    return client, rounds, per_request("ingress"), per_request("direct")


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
        # as litekube runs it: worker_processes auto (one per CPU, as ingress-nginx)
        controller = IngressController(
            client, Path(tmp) / "ingress", http_port, _free_port(), "127.0.0.1", RealClock()
        )
        try:
            await controller.start()
            await client.create(SERVICES, _service("bench", backend_port))
            await client.create(ENDPOINT_SLICES, _slice("bench", backend_port))
            await client.create(INGRESSES, _ingress("bench", HOST))
            await _first_200(http_port, HOST)
            while not controller.idle:  # noqa: ASYNC110 (a property, polled briefly)
                await asyncio.sleep(0.01)
            assert isinstance(controller.nginx, NginxProcess) and controller.nginx.pid is not None
            name, rounds, nginx_us, backend_us = await _compare(
                f"http://127.0.0.1:{backend_port}/x",
                f"http://127.0.0.1:{http_port}/x",
                backend.pid,
                controller.nginx.pid,
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

    def rate(side: str) -> float:
        return sum(r.requests for r in rounds[side]) / sum(r.seconds for r in rounds[side])

    def p99(side: str) -> float:  # the median round's p99: one noisy round does not decide it
        return statistics.median(r.p99_ms for r in rounds[side])

    return [
        (f"ingress: requests/s via nginx vs direct ({name})", rate("ingress"), rate("direct"), "req/s"),
        (f"ingress: p99 latency via nginx vs direct ({name})", p99("ingress"), p99("direct"), "ms"),
        ("ingress: nginx CPU per request vs the backend's", nginx_us, backend_us, "us"),
        ("ingress: create Ingress -> first 200 (target < 1000)", first * 1000, 0.0, "ms"),
    ]


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
