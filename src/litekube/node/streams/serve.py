"""`NodeStreamServer`: a joined agent's HTTPS port for pod streams (upstream's kubelet :10250).

API server (node_proxy.py) ──TLS, client certificate──▶ :10250
    /api/v1/namespaces/{ns}/pods/{name}/{log|exec|attach|portforward}?…
  ─▶ who: the client certificate must chain to the cluster CA and be in group
     system:masters (the API server's `kube-apiserver-kubelet-client`); a node's own
     certificate (system:nodes) is refused, so one node cannot exec into another's pods
  ─▶ the same `PodStreams` handlers the embedded node plugs into the API server, so
     errors are the same Status objects
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import web

from litekube.apiserver import errors
from litekube.apiserver.dispatch import parse_path
from litekube.node.streams.handlers import PodStreams

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ALLOWED_GROUP = "system:masters"


def _groups(cert: object) -> list[str]:
    """ssl.getpeercert()'s subject: ((('organizationName', 'g'),), (('commonName', 'x'),))."""
    if not isinstance(cert, dict):
        return []
    return [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "organizationName"]


def _status(error: errors.ApiException) -> web.Response:
    return web.Response(body=orjson.dumps(error.status()), status=error.code, content_type="application/json")


class NodeStreamServer:
    def __init__(
        self,
        streams: PodStreams,
        ca_cert: Path,
        serving_cert: Path,
        serving_key: Path,
        host: str = "0.0.0.0",
        port: int = 10250,
    ) -> None:
        self.streams = streams
        self.host, self.port = host, port
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca_cert))
        self._ssl.load_cert_chain(serving_cert, serving_key)
        self._ssl.verify_mode = ssl.CERT_REQUIRED
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        handlers = self.streams.handlers()

        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            peer = request.transport.get_extra_info("peercert") if request.transport else None
            if ALLOWED_GROUP not in _groups(peer):
                return _status(errors.forbidden("only the API server may open pod streams on this node"))
            try:
                return await handler(request)
            except errors.ApiException as e:
                return _status(e)

        async def serve(request: web.Request) -> web.StreamResponse:
            rr = parse_path(request.path)
            handler = handlers.get(rr.subresource or "") if rr is not None else None
            if rr is None or handler is None or rr.rt.plural != "pods":
                raise errors.path_not_found()
            return await handler(request, rr)

        app = web.Application(middlewares=[guard])
        app.router.add_route("*", "/api/v1/namespaces/{namespace}/pods/{name}/{subresource}", serve)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(
            self._runner, self.host, self.port, ssl_context=self._ssl, reuse_address=True
        ).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
