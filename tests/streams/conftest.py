"""A tiny API server for the real kubectl: /version, discovery, GET pod, and PodStreams.

It serves plain HTTP on 127.0.0.1 (kubectl sends no credentials over http, which is fine
here) in the test's own event loop, so kubectl must run as an asyncio subprocess. Pods and
"containers" come from a `FakeBackend`: local processes and CRI log files.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from litekube.apiserver import discovery, errors
from litekube.apiserver.http import VERSION_INFO
from litekube.apiserver.rest import ResourceRequest, StreamHandler, parse_path
from litekube.node.streams import FakeBackend, PodStreams

KUBECTL = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl")
if not os.path.exists(KUBECTL):
    KUBECTL = shutil.which("kubectl") or KUBECTL
HAVE_KUBECTL = os.path.exists(KUBECTL)


def pod(
    name: str,
    containers: list[str] | None = None,
    phase: str = "Running",
    specs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    specs = specs or [{"name": c, "image": "busybox"} for c in containers or ["main"]]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
        "spec": {"nodeName": "node1", "containers": specs},
        "status": {"phase": phase, "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}]},
    }


class Table:
    def __init__(self) -> None:
        self.stream_handlers: dict[str, StreamHandler] = {}


def build_app(backend: FakeBackend, streams: PodStreams) -> web.Application:
    table = Table()
    streams.register(table)

    @web.middleware
    async def status_middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except errors.ApiException as e:
            return web.json_response(e.status(), status=e.code, dumps=lambda o: orjson.dumps(o).decode())

    async def version(_: web.Request) -> web.Response:
        return web.json_response(VERSION_INFO)

    async def api(request: web.Request) -> web.Response:
        body = discovery.aggregated(request.path == "/api")
        return web.Response(body=body, headers={"Content-Type": discovery.AGGREGATED_CONTENT_TYPE})

    async def resource(request: web.Request) -> web.StreamResponse:
        rr = parse_path(request.path)
        if rr is None or rr.name is None:
            raise errors.path_not_found()
        if rr.subresource is not None:
            handler = table.stream_handlers.get(rr.subresource)
            if handler is None:
                raise errors.path_not_found()
            return await handler(request, rr)
        return await get_pod(rr)

    async def get_pod(rr: ResourceRequest) -> web.Response:
        found = await backend.get_pod(rr.namespace or "default", rr.name or "")
        if found is None:
            raise errors.not_found(rr.rt, rr.name or "")
        return web.json_response(found)

    app = web.Application(middlewares=[status_middleware])
    app.router.add_get("/version", version)
    app.router.add_get("/api", api)
    app.router.add_get("/apis", api)
    app.router.add_route("*", "/api/v1/{tail:.*}", resource)
    return app


@dataclass
class Env:
    backend: FakeBackend
    url: str
    home: Path
    work: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.home),
            KUBECONFIG=str(self.home / "kubeconfig"),
            KUBECACHEDIR=str(self.home / "cache"),
        )
        return env

    async def kubectl(
        self, *args: str, stdin: bytes | None = None, timeout: float = 20.0
    ) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            KUBECTL,
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env(),
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Env]:
    if not HAVE_KUBECTL:
        pytest.skip("kubectl is not installed")
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    backend = FakeBackend(tmp_path / "logs", exec_cwd=work)
    runner = web.AppRunner(build_app(backend, PodStreams(backend, follow_poll=0.05)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    (home / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: t\n  cluster:\n    server: {url}\n"
        "contexts:\n- name: t\n  context:\n    cluster: t\n    user: t\n    namespace: default\n"
        "current-context: t\nusers:\n- name: t\n  user: {}\n"
    )
    try:
        yield Env(backend, url, home, work)
    finally:
        await backend.close()
        await runner.cleanup()
