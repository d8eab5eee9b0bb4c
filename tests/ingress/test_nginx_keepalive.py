"""Keep-alive to the backends, end to end: a real nginx reuses its upstream connections, and an
endpoint that leaves the EndpointSlice stops getting requests although nginx held idle
connections to it (a reload gives the new workers empty pools; the old workers close theirs).

The backends here answer "<name> <peer port> <Connection header>", so a test can see which
upstream connection a request rode on and whether nginx asked to close it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from litekube.ingress.controller import ENDPOINT_SLICES, INGRESSES, SERVICES
from tests.ingress import objects
from tests.ingress.conftest import Env
from tests.ingress.http import get
from tests.ingress.test_nginx_e2e import eventually

HOST = "pool.example.com"


@contextlib.asynccontextmanager
async def peer_backend(name: str, address: str, port: int = 0) -> AsyncIterator[tuple[int, set[int]]]:
    """A backend on address:port; yields (its port, the peer ports of connections it accepted)."""
    peers: set[int] = set()

    async def handle(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        port = int(peer[1]) if peer else 0
        peers.add(port)
        return web.Response(text=f"{name} {port} {request.headers.get('Connection', '-')}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, address, port)
    await site.start()
    try:
        yield int(runner.addresses[0][1]), peers
    finally:
        await runner.cleanup()


async def _route(env: Env, addresses: list[str], port: int) -> None:
    await env.client.create(SERVICES, objects.service("pool", [{"port": 80, "targetPort": port}]))
    endpoints = [objects.endpoint(a) for a in addresses]
    await env.client.create(
        ENDPOINT_SLICES, objects.endpoint_slice("pool", endpoints, [{"name": "", "port": port}])
    )
    await env.client.create(
        INGRESSES, objects.ingress("pool", [objects.rule(HOST, ("/", "Prefix", "pool", 80))])
    )


async def _served_by(env: Env, count: int) -> list[list[str]]:
    """`count` requests, each on a new client connection; the backends' answers, split."""
    answers = []
    for _ in range(count):
        response = await get(env.http_port, "/", HOST)
        assert response.status == 200, response
        answers.append(response.body.split())
    return answers


async def test_upstream_connections_are_reused(env: Env) -> None:
    async with peer_backend("a", "127.0.0.1") as (port, peers):
        await _route(env, ["127.0.0.1"], port)

        async def ready() -> bool:
            return env.controller.idle and (await get(env.http_port, "/", HOST)).status == 200

        await eventually(ready)
        peers.clear()
        answers = await _served_by(env, 30)
    # every client connection was new (Connection: close), yet the one worker sent all 30
    # requests over the connection it keeps open to the backend
    assert len(peers) == 1, peers
    # nginx cleared the client's Connection header instead of forwarding "close"
    assert {connection for _, _, connection in answers} == {"-"}


async def test_removed_endpoint_leaves_rotation_despite_pooled_connections(env: Env) -> None:
    async with (
        peer_backend("a", "127.0.0.1") as (port, _),
        peer_backend("b", "127.0.0.2", port) as (_, b_peers),
    ):
        await _route(env, ["127.0.0.1", "127.0.0.2"], port)

        async def both_serve() -> bool:
            if not env.controller.idle:
                return False
            return {name for name, _, _ in await _served_by(env, 4)} == {"a", "b"}

        await eventually(both_serve)
        assert b_peers  # nginx holds a kept-alive connection to b now
        slice_name = "pool-abcde"
        current = await env.client.get(ENDPOINT_SLICES, slice_name, "default")
        current["endpoints"] = [objects.endpoint("127.0.0.1")]
        reloads = env.controller.reloads
        await env.client.update(ENDPOINT_SLICES, current)

        async def reloaded() -> bool:
            return env.controller.reloads > reloads and env.controller.idle

        await eventually(reloaded)
        answers = await _served_by(env, 20)
    assert {name for name, _, _ in answers} == {"a"}
