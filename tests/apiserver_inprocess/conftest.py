"""One real apiserver in this process, and two clients on it: in-process and HTTP (unix socket).

Tests run the same request through both transports and expect the same answer, so the
in-process transport cannot drift from the HTTP path's semantics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from litekube.apiserver.server import APIServer, APIServerConfig
from litekube.client.base import Client
from tests.conftest import free_port


@dataclass
class Api:
    server: APIServer
    local: Client  # in-process
    http: Client  # the unix socket


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    server = APIServer(APIServerConfig(data_dir=tmp_path, port=free_port(), bind_address="127.0.0.1"))
    await server.start()
    local, http = server.local_client(), server.socket_client()
    try:
        yield Api(server, local, http)
    finally:
        await local.close()
        await http.close()
        await server.stop()
