"""gRPC probes against a real grpcio health server (grpcio-health-checking) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from litekube.node.kubelet.grpc_probe import decode_status, encode_request, grpc_probe
from litekube.node.kubelet.probes import FAILURE, SUCCESS, HostProber
from litekube.node.runtime.fake import FakeRuntime


class SlowHealth(health.HealthServicer):  # type: ignore[misc]
    """Answers 'slow' only after the test releases it (an RPC that outlives the probe timeout)."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def Check(self, request: Any, context: Any) -> Any:
        if request.service == "slow":
            self.release.wait(5)
        return super().Check(request, context)


@pytest.fixture
def health_server() -> Iterator[int]:
    release = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = SlowHealth(release)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("db", health_pb2.HealthCheckResponse.NOT_SERVING)
    servicer.set("slow", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    release.set()
    server.stop(None).wait(5)


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts TCP and never speaks HTTP/2: the dial cannot complete."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def test_protobuf_messages() -> None:
    assert encode_request("") == b"\x00\x00\x00\x00\x00"
    assert encode_request("db") == b"\x00\x00\x00\x00\x04\x0a\x02db"
    assert decode_status(b"") == 0
    assert decode_status(b"\x08\x02") == 2
    # an unknown length-delimited field before the status is skipped
    assert decode_status(b"\x12\x03abc\x08\x01") == 1


async def test_serving_passes_through_the_host_prober(health_server: int) -> None:
    prober = HostProber(FakeRuntime())
    probe = {"grpc": {"port": health_server}, "timeoutSeconds": 2}
    assert await prober.probe(probe, "127.0.0.1", {}, "id") == (SUCCESS, "service healthy")


async def test_not_serving_fails(health_server: int) -> None:
    assert await grpc_probe("127.0.0.1", health_server, "db", 2) == (
        FAILURE,
        'service unhealthy (responded with "NOT_SERVING")',
    )


async def test_unknown_service_fails_with_the_rpc_error(health_server: int) -> None:
    assert await grpc_probe("127.0.0.1", health_server, "nope", 2) == (
        FAILURE,
        # grpcio's servicer sets NOT_FOUND without details: grpc-go prints an empty desc
        "error: health rpc probe failed: rpc error: code = NotFound desc = ",
    )


async def test_nothing_listening_times_out_the_dial() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert await grpc_probe("127.0.0.1", port, "", 0.3) == (
        FAILURE,
        f'timeout: failed to connect service "127.0.0.1:{port}" within 0.3s: context deadline exceeded',
    )


async def test_server_that_never_speaks_http2_times_out_the_dial(silent_server: int) -> None:
    outcome, message = await grpc_probe("127.0.0.1", silent_server, "", 0.3)
    assert (outcome, message) == (
        FAILURE,
        f'timeout: failed to connect service "127.0.0.1:{silent_server}" within 0.3s: context deadline exceeded',
    )


async def test_slow_rpc_times_out(health_server: int) -> None:
    assert await grpc_probe("127.0.0.1", health_server, "slow", 0.5) == (
        FAILURE,
        "timeout: health rpc did not complete within 0.5s",
    )
