"""API server benchmarks (issue 2), each beside a baseline measured in the same run.

- start → /readyz of `litekube server` vs a bare aiohttp HTTPS server answering 200;
- create throughput (closed loop, 64 clients) and p99 latency at a steady 200 creates/s vs
  raw SQLite inserts of the same bytes (one transaction and fsync per insert);
- LIST of 5,000 pods vs a raw SQLite SELECT of the same rows;
- watch fan-out: 100 watchers × 10,000 events, events/s delivered, vs 100 clients reading
  the same bytes from a bare aiohttp chunked stream;
- idle server RSS with 1,000 objects vs an idle bare aiohttp process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

BIN = Path(sys.executable).parent
Row = tuple[str, float, float, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pod(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "web"}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.21",
                    "ports": [{"containerPort": 80}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ]
        },
    }


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _wait_http(url: str, ctx: ssl.SSLContext, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            try:
                async with s.get(url, ssl=ctx) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.005)
    raise RuntimeError(f"{url} not ready")


_BARE_SERVER = """
import ssl, sys
from aiohttp import web
async def ok(_): return web.Response(text="ok")
async def stream(_r):
    r = web.StreamResponse(); r.enable_chunked_encoding(); await r.prepare(_r)
    line = open(sys.argv[4], "rb").read()
    for _ in range(int(sys.argv[5])):
        await r.write(line)
    await r.write_eof(); return r
app = web.Application(); app.router.add_get("/readyz", ok); app.router.add_get("/stream", stream)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); ctx.load_cert_chain(sys.argv[2], sys.argv[3])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), ssl_context=ctx, print=None)
"""


class Server:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.data = tmp / "data"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> float:
        t0 = time.monotonic()
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
                "--disable-controllers",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        await _wait_http(f"https://127.0.0.1:{self.port}/readyz", ctx)
        return time.monotonic() - t0

    def client_ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.data / "tls" / "ca.crt"))
        ctx.load_cert_chain(self.data / "tls" / "admin.crt", self.data / "tls" / "admin.key")
        return ctx

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def _creates(
    base: str, ctx: ssl.SSLContext, ns: str, n: int, rate: float | None, concurrency: int = 64
) -> tuple[float, list[float]]:
    """n creates; closed loop with `concurrency` workers, or paced at `rate` per second."""
    latencies: list[float] = []
    conn = aiohttp.TCPConnector(ssl=ctx, limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as s:
        url = f"{base}/api/v1/namespaces/{ns}/pods"
        bodies = [orjson.dumps(_pod(f"p-{rate or 0:.0f}-{i}")) for i in range(n)]

        async def one(body: bytes) -> None:
            t = time.perf_counter()
            async with s.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                await r.read()
                if r.status != 201:
                    raise RuntimeError(f"create failed: {r.status}")
            latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        if rate is None:
            queue = iter(bodies)

            async def worker() -> None:
                for body in queue:
                    await one(body)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            tasks = []
            for i, body in enumerate(bodies):
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(body)))
            await asyncio.gather(*tasks)
        return time.perf_counter() - t0, latencies


def _p99(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def _raw_sqlite_inserts(tmp: Path, bodies: list[bytes]) -> tuple[float, float]:
    db = sqlite3.connect(tmp / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, value BLOB)")
    t0 = time.perf_counter()
    for i, body in enumerate(bodies):
        db.execute("BEGIN")
        db.execute("INSERT INTO kv (name, value) VALUES (?, ?)", (f"k{i}", body))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    rows = db.execute("SELECT name, value FROM kv").fetchall()
    [orjson.loads(v) for _, v in rows]
    list_elapsed = time.perf_counter() - t1
    db.close()
    return elapsed, list_elapsed


async def _watch_fanout(base: str, ctx: ssl.SSLContext, ns: str, watchers: int, events: int) -> float:
    conn = aiohttp.TCPConnector(ssl=ctx, limit=watchers + 64)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=300)) as s:
        async with s.get(f"{base}/api/v1/namespaces/{ns}/configmaps") as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        started = asyncio.Event()
        ready = 0
        done_at: list[float] = []

        async def watcher() -> None:
            nonlocal ready
            url = (
                f"{base}/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=120"
            )
            async with s.get(url) as r:
                ready += 1
                if ready == watchers:
                    started.set()
                seen = 0
                async for chunk in r.content.iter_any():
                    seen += chunk.count(b"\n")
                    if seen >= events:
                        done_at.append(time.perf_counter())
                        return

        tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
        await asyncio.wait_for(started.wait(), 30)
        await asyncio.sleep(0.2)
        t0 = time.perf_counter()
        url = f"{base}/api/v1/namespaces/{ns}/configmaps"
        bodies = [
            orjson.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{i}"},
                    "data": {"k": "v" * 64},
                }
            )
            for i in range(events)
        ]
        sem = asyncio.Semaphore(32)

        async def create(body: bytes) -> None:
            async with sem, s.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                await r.read()

        await asyncio.gather(*(create(b) for b in bodies))
        await asyncio.wait_for(asyncio.gather(*tasks), 240)
        return watchers * events / (max(done_at) - t0)


async def _bare_stream(tmp: Path, pki: Path, watchers: int, events: int, line: bytes) -> float:
    port = _free_port()
    line_file = tmp / "line.json"
    line_file.write_bytes(line)
    script = tmp / "bare.py"
    script.write_text(_BARE_SERVER)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(port),
            str(pki / "server.crt"),
            str(pki / "server.key"),
            str(line_file),
            str(events),
        ]
    )
    try:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        await _wait_http(f"https://127.0.0.1:{port}/readyz", ctx)
        conn = aiohttp.TCPConnector(ssl=ctx, limit=watchers)
        async with aiohttp.ClientSession(connector=conn) as s:

            async def reader() -> None:
                async with s.get(f"https://127.0.0.1:{port}/stream") as r:
                    async for _ in r.content.iter_any():
                        pass

            t0 = time.perf_counter()
            await asyncio.gather(*(reader() for _ in range(watchers)))
            return watchers * events / (time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait()


async def _bare_start(tmp: Path, pki: Path) -> tuple[float, int]:
    port = _free_port()
    script = tmp / "bare.py"
    script.write_text(_BARE_SERVER)
    line = tmp / "empty"
    line.write_bytes(b"")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(port),
            str(pki / "server.crt"),
            str(pki / "server.key"),
            str(line),
            "0",
        ]
    )
    try:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        await _wait_http(f"https://127.0.0.1:{port}/readyz", ctx)
        elapsed = time.monotonic() - t0
        await asyncio.sleep(1)
        return elapsed, _rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()


async def run() -> list[Row]:
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="litekube-bench-"))
    server = Server(tmp)
    try:
        start_s = await server.start()
        assert server.proc is not None
        pki = server.data / "tls"
        bare_start, bare_rss = await _bare_start(tmp, pki)
        rows.append(("start to /readyz (fresh data dir)", start_s * 1000, bare_start * 1000, "ms"))
        base = f"https://127.0.0.1:{server.port}"
        ctx = server.client_ssl()
        # steady 200 creates/s for 5 s: p99 latency
        _, lat = await _creates(base, ctx, "default", 1000, rate=200)
        raw_bodies = [orjson.dumps(_pod(f"raw-{i}")) for i in range(1000)]
        raw_insert_s, _ = _raw_sqlite_inserts(tmp, raw_bodies)
        rows.append(
            (
                "create p99 latency at 200 creates/s",
                _p99(lat) * 1000,
                raw_insert_s / len(raw_bodies) * 1000,
                "ms (baseline: one raw SQLite insert)",
            )
        )
        # closed-loop throughput, then the list of 5,000 pods
        elapsed, _ = await _creates(base, ctx, "default", 4000, rate=None)
        rows.append(
            (
                "create throughput (64 concurrent clients)",
                4000 / elapsed,
                len(raw_bodies) / raw_insert_s,
                "creates/s (baseline: raw SQLite inserts/s, fsync each)",
            )
        )
        db = sqlite3.connect(tmp / "raw.db")
        db.executemany(
            "INSERT INTO kv (name, value) VALUES (?, ?)",
            [(f"x{i}", orjson.dumps(_pod(f"x{i}"))) for i in range(4000)],
        )
        db.commit()
        db.close()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                async with s.get(f"{base}/api/v1/namespaces/default/pods") as r:
                    n = len((await r.json(loads=orjson.loads))["items"])
                times.append(time.perf_counter() - t0)
        rawdb = sqlite3.connect(tmp / "raw.db")
        t0 = time.perf_counter()
        [orjson.loads(v) for (v,) in rawdb.execute("SELECT value FROM kv LIMIT 5000")]
        raw_list_s = time.perf_counter() - t0
        rawdb.close()
        rows.append(
            (
                f"LIST {n} pods (JSON, median of 5)",
                sorted(times)[2] * 1000,
                raw_list_s * 1000,
                "ms (baseline: raw SQLite SELECT + decode)",
            )
        )
        # watch fan-out
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
            async with s.post(f"{base}/api/v1/namespaces", json={"metadata": {"name": "watch"}}) as r:
                await r.read()
        rate = await _watch_fanout(base, ctx, "watch", 100, 10000)
        sample_line = (
            b'{"type":"ADDED","object":'
            + orjson.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": "cm-1",
                        "namespace": "watch",
                        "uid": "0" * 36,
                        "resourceVersion": "12345",
                        "creationTimestamp": "2026-01-01T00:00:00Z",
                    },
                    "data": {"k": "v" * 64},
                }
            )
            + b"}\n"
        )
        bare_rate = await _bare_stream(tmp, pki, 100, 10000, sample_line)
        rows.append(
            (
                "watch fan-out, 100 watchers x 10,000 events",
                rate,
                bare_rate,
                "events/s delivered (baseline: bare aiohttp stream of the same bytes)",
            )
        )
        # idle RSS: delete down to ~1,000 objects? we hold 5,000 pods + 10,000 configmaps; measure a fresh one.
        server.stop()
        server2 = Server(tmp / "rss")
        (tmp / "rss").mkdir()
        await server2.start()
        ctx2 = server2.client_ssl()
        await _creates(f"https://127.0.0.1:{server2.port}", ctx2, "default", 1000, rate=None)
        await asyncio.sleep(2)
        assert server2.proc is not None
        rss = _rss_kb(server2.proc.pid)
        server2.stop()
        rows.append(
            (
                "idle server RSS with 1,000 pods stored",
                rss / 1024,
                bare_rss / 1024,
                "MB (baseline: idle bare aiohttp HTTPS process)",
            )
        )
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for name, value, base, unit in asyncio.run(run()):
        print(f"{name:55s} {value:12.1f} {base:12.1f}  x{value / base if base else 0:8.2f}  {unit}")
    os._exit(0)
