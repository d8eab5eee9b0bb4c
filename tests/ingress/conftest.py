"""Fixtures for the Ingress tests: the real apiserver in-process, echo backends, a real nginx.

Every nginx started here runs under the test's temp directory; `no_leftover_nginx` checks after
each test that no nginx process mentioning that directory is still alive, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from litekube.apiserver.server import APIServer, APIServerConfig
from litekube.client.base import Client
from litekube.ingress.controller import IngressController
from litekube.machinery.clock import RealClock
from tests.ingress.http import echo_backend

NGINX = "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_processes(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"nginx" in cmdline and marker.encode() in cmdline:
            found.append(int(entry))
    return found


@pytest.fixture
def nginx_binary() -> str:
    if shutil.which(NGINX) is None and not os.path.exists(NGINX):
        pytest.skip("nginx is not installed")
    return NGINX


@pytest.fixture(autouse=True)
def no_leftover_nginx(tmp_path: Path) -> Iterator[None]:
    yield
    leftovers = nginx_processes(str(tmp_path))
    for pid in leftovers:  # clean up before failing, so one broken test does not leak processes
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not leftovers, f"nginx processes left behind: {leftovers}"


@dataclass
class Env:
    client: Client
    controller: IngressController
    http_port: int
    https_port: int
    web_port: int
    api_port: int


@pytest.fixture
async def env(tmp_path: Path, nginx_binary: str) -> AsyncIterator[Env]:
    server = APIServer(APIServerConfig(data_dir=tmp_path / "api", port=free_port(), bind_address="127.0.0.1"))
    await server.start()
    client = server.local_client()
    http_port, https_port = free_port(), free_port()
    controller = IngressController(
        client,
        tmp_path / "ingress",
        http_port,
        https_port,
        "127.0.0.1",
        RealClock(),
        debounce=0.05,
        worker_processes="1",
    )
    try:
        async with echo_backend("web-app") as web_port, echo_backend("api") as api_port:
            await controller.start()
            try:
                yield Env(client, controller, http_port, https_port, web_port, api_port)
            finally:
                await controller.stop()
    finally:
        await client.close()
        await server.stop()
