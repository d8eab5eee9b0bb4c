from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from litekube.machinery.clock import FakeClock
from litekube.node.kubelet.probes import FAILURE, SUCCESS, HostProber, ProbeWorker, resolve_port
from litekube.node.runtime.fake import FakeRuntime


@pytest.fixture
async def http_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A tiny HTTP server on 127.0.0.1: /ok → 200, /moved → 301, anything else → 500."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:  # a TCP probe: connect and close
            writer.close()
            return
        requests.append(head)
        path = head.split(b" ")[1]
        code = {b"/ok": b"200 OK", b"/moved": b"301 Moved"}.get(path, b"500 Oops")
        writer.write(b"HTTP/1.1 " + code + b"\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, requests
    server.close()
    await server.wait_closed()


async def test_http_probe(http_server: tuple[int, list[bytes]]) -> None:
    port, requests = http_server
    prober = HostProber(FakeRuntime())
    container = {"name": "app", "ports": [{"name": "http", "containerPort": port}]}
    probe = {"httpGet": {"path": "/ok", "port": "http", "httpHeaders": [{"name": "X-Check", "value": "1"}]}}
    assert await prober.probe(probe, "127.0.0.1", container, "id") == (SUCCESS, "")
    assert b"X-Check: 1" in requests[-1] and b"User-Agent: kube-probe/1.36" in requests[-1]
    assert (await prober.probe({"httpGet": {"path": "/moved", "port": port}}, "127.0.0.1", container, "id"))[
        0
    ] == SUCCESS
    assert await prober.probe({"httpGet": {"path": "/bad", "port": port}}, "127.0.0.1", container, "id") == (
        FAILURE,
        "HTTP probe failed with statuscode: 500",
    )


async def test_tcp_probe_and_refused_connections(http_server: tuple[int, list[bytes]]) -> None:
    port, _ = http_server
    prober = HostProber(FakeRuntime())
    assert await prober.probe({"tcpSocket": {"port": port}}, "127.0.0.1", {}, "id") == (SUCCESS, "")
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    result, output = await prober.probe({"tcpSocket": {"port": closed}}, "127.0.0.1", {}, "id")
    assert (result, output) == (FAILURE, f"dial tcp 127.0.0.1:{closed}: connect: connection refused")
    result, output = await prober.probe({"httpGet": {"path": "/", "port": closed}}, "127.0.0.1", {}, "id")
    assert (
        output
        == f'Get "http://127.0.0.1:{closed}/": dial tcp 127.0.0.1:{closed}: connect: connection refused'
    )


async def test_exec_probes() -> None:
    runtime = FakeRuntime()
    sandbox = await runtime.create_sandbox("u", "p", "default", "p", None)
    runtime.exec_handler = lambda cid, argv, stdin: (
        (1, b"not healthy\n", b"") if argv[-1] == "bad" else (0, b"", b"")
    )
    prober = HostProber(runtime)
    assert (await prober.probe({"exec": {"command": ["check", "good"]}}, "", {}, sandbox))[0] == SUCCESS
    assert await prober.probe({"exec": {"command": ["check", "bad"]}}, "", {}, sandbox) == (
        FAILURE,
        "not healthy\n",
    )
    # grpc probes: tests/kubelet/test_grpc_probe.py


def test_named_ports() -> None:
    container = {"ports": [{"name": "web", "containerPort": 8080}]}
    assert resolve_port("web", container) == 8080 and resolve_port(80, container) == 80
    assert resolve_port("nope", container) is None


class Answers:
    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    async def probe(self, probe: dict, pod_ip: str, container: dict, container_id: str) -> tuple[str, str]:
        return self.answers.pop(0), ""


async def test_thresholds_and_initial_delay() -> None:
    clock = FakeClock()
    seen: list[tuple[str, str]] = []

    async def on_result(kind: str, result: str, output: str) -> None:
        seen.append((kind, result))

    probe = {"initialDelaySeconds": 5, "successThreshold": 2, "failureThreshold": 2}
    worker = ProbeWorker(
        "readiness", probe, {}, "id", "", Answers(SUCCESS, SUCCESS, FAILURE, FAILURE), clock, 0.0, on_result
    )
    assert worker.result == FAILURE
    assert not await worker.tick() and seen == []  # inside the initial delay: nothing runs
    clock.advance(5)
    assert not await worker.tick() and worker.result == FAILURE  # 1 of 2 successes
    assert await worker.tick() and worker.result == SUCCESS
    assert not await worker.tick() and worker.result == SUCCESS  # 1 of 2 failures
    assert await worker.tick() and worker.result == FAILURE
    assert len(seen) == 4


async def test_liveness_holds_after_failing_and_startup_gates() -> None:
    clock = FakeClock()

    async def on_result(kind: str, result: str, output: str) -> None:
        return None

    startup = ProbeWorker(
        "startup", {"failureThreshold": 1}, {}, "id", "", Answers(SUCCESS), clock, 0.0, on_result
    )
    liveness = ProbeWorker(
        "liveness",
        {"failureThreshold": 1},
        {},
        "id",
        "",
        Answers(FAILURE, FAILURE),
        clock,
        0.0,
        on_result,
        gate=lambda: startup.result == SUCCESS,
    )
    assert liveness.result == SUCCESS
    assert not await liveness.tick()  # gated: startup has not passed
    await startup.tick()
    assert startup.result == SUCCESS and startup.on_hold
    assert await liveness.tick() and liveness.result == FAILURE and liveness.on_hold
    assert not await liveness.tick()  # on hold until the container is replaced
