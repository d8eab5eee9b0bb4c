"""Streaming pod subresources (log, exec, attach, portforward) routed to the pod's node.

`NodeStreamProxy` is the API server's stream handler for all four subresources:

    pod ─▶ its node is a joined agent (annotation `litekube.io/kubelet-api: https`)?
        yes ─▶ forward to https://<InternalIP>:<status.daemonEndpoints.kubeletEndpoint.Port>
               (same path and query; upstream's apiserver → kubelet :10250). TLS both ways:
               the agent's serving certificate must chain to the cluster CA and name that
               address; we show the `kube-apiserver-kubelet-client` certificate.
                 plain requests (logs, refusals) ─▶ status, Content-Type and body copied,
                                                   chunk by chunk (logs -f streams)
                 WebSocket upgrades (exec, attach, port-forward) ─▶ a WebSocket to the
                   node with the client's subprotocols, then the chosen one to the client;
                   messages relayed both ways until either side closes
        no  ─▶ the local handlers (the embedded node's PodStreams), when there are any

A node whose handshake refuses (a 400/404 Status from the node) is asked again without the
Upgrade so the client gets the node's own Status, not a bare status code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import WSMsgType, web

from litekube.api.resources import lookup
from litekube.apiserver import errors
from litekube.apiserver.dispatch import ResourceRequest
from litekube.apiserver.objects import JSON
from litekube.apiserver.registry import Registry

log = logging.getLogger(__name__)

KUBELET_API_ANNOTATION = "litekube.io/kubelet-api"
CLOSE_GRACE = 5.0  # seconds the second direction of a relayed WebSocket gets to finish closing
StreamHandler = Callable[[web.Request, ResourceRequest], Awaitable[web.StreamResponse]]
# request headers that describe the client's hop, not the request
_HOP_HEADERS = {
    "host",
    "authorization",
    "connection",
    "upgrade",
    "content-length",
    "transfer-encoding",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
}

_pods, _nodes = lookup("", "v1", "pods"), lookup("", "v1", "nodes")
assert _pods is not None and _nodes is not None
PODS, NODES = _pods, _nodes


def kubelet_endpoint(node: JSON) -> tuple[str, int] | None:
    """Where a joined agent serves pod streams, or None for nodes that serve none (simulated)."""
    if (node.get("metadata", {}).get("annotations") or {}).get(KUBELET_API_ANNOTATION) != "https":
        return None
    status = node.get("status") or {}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    for address in status.get("addresses") or []:
        if address.get("type") == "InternalIP" and port:
            return str(address["address"]), int(port)
    return None


class NodeStreamProxy:
    def __init__(self, registry: Registry, ca_cert: Path, client_cert: Path, client_key: Path) -> None:
        self.registry = registry
        self.local: dict[str, StreamHandler] = {}  # the embedded node's handlers, by subresource
        self.local_node = ""
        self._ssl = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_cert))
        self._ssl.load_cert_chain(client_cert, client_key)
        self._session: aiohttp.ClientSession | None = None

    def set_local(self, node_name: str, handlers: dict[str, StreamHandler]) -> None:
        self.local_node = node_name
        self.local = dict(handlers)

    def handlers(self) -> dict[str, StreamHandler]:
        return {name: self._handler(name) for name in ("log", "exec", "attach", "portforward")}

    def _handler(self, subresource: str) -> StreamHandler:
        async def handle(request: web.Request, rr: ResourceRequest) -> web.StreamResponse:
            return await self.serve(subresource, request, rr)

        return handle

    async def serve(self, subresource: str, request: web.Request, rr: ResourceRequest) -> web.StreamResponse:
        pod = await self.registry.get(PODS, rr.namespace or "default", rr.name or "")
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if node_name and node_name != self.local_node:
            endpoint = await self._endpoint(node_name)
            if endpoint is not None:
                return await self.forward(request, endpoint)
        handler = self.local.get(subresource)
        if handler is None:
            raise errors.bad_request(f'{subresource} is not available: no node agent serves pod "{rr.name}"')
        return await handler(request, rr)

    async def _endpoint(self, node_name: str) -> tuple[str, int] | None:
        try:
            node = await self.registry.get(NODES, None, node_name)
        except errors.ApiException as e:
            if e.code == 404:
                return None
            raise
        return kubelet_endpoint(node)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                auto_decompress=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(self, request: web.Request, endpoint: tuple[str, int]) -> web.StreamResponse:
        host, port = endpoint
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        url = f"https://{netloc}{request.rel_url.path_qs}"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        try:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._relay_websocket(request, url, headers)
            return await self._copy(request, url, headers)
        except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, ssl.SSLError) as e:
            raise errors.ApiException(
                502, "InternalError", f"error dialing backend: {e}"
            ) from e  # upstream: `error dialing backend: dial tcp …`

    async def _copy(self, request: web.Request, url: str, headers: dict[str, str]) -> web.StreamResponse:
        body = await request.read() if request.can_read_body else None
        async with self._client().request(request.method, url, headers=headers, data=body) as upstream:
            resp = web.StreamResponse(status=upstream.status)
            for name in ("Content-Type", "Warning"):
                for value in upstream.headers.getall(name, []):
                    resp.headers.add(name, value)
            await resp.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await resp.write(chunk)
                await resp.write_eof()
            except ConnectionResetError:
                pass  # the client left (`kubectl logs -f` interrupted): drop the node's stream too
            return resp

    async def _relay_websocket(
        self, request: web.Request, url: str, headers: dict[str, str]
    ) -> web.StreamResponse:
        offered = [
            p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()
        ]
        try:
            upstream = await self._client().ws_connect(
                url, protocols=offered, headers=headers, autoping=True, compress=0, max_msg_size=0
            )
        except aiohttp.WSServerHandshakeError:
            # the node refused the stream: ask again without the Upgrade for its Status
            return await self._copy(request, url, headers)
        try:
            ws = web.WebSocketResponse(
                protocols=[upstream.protocol] if upstream.protocol else [],
                autoping=True,
                compress=False,
                max_msg_size=0,
            )
            await ws.prepare(request)
            to_node = asyncio.ensure_future(_pump(ws, upstream))
            to_client = asyncio.ensure_future(_pump(upstream, ws))
            try:
                _, pending = await asyncio.wait({to_node, to_client}, return_when=asyncio.FIRST_COMPLETED)
                # the other direction ends by itself once its peer answers the close: let it,
                # or a close handshake cut short reaches the client as an abnormal closure
                if pending:
                    await asyncio.wait(pending, timeout=CLOSE_GRACE)
            finally:
                for task in (to_node, to_client):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=_sendable(upstream.close_code))
            return ws
        finally:
            await upstream.close()


WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


async def _pump(source: WebSocket, sink: WebSocket) -> None:
    """Copy messages until `source` closes; then close `sink` with the same code."""
    while True:
        msg = await source.receive()
        if msg.type == WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        elif msg.type == WSMsgType.TEXT:
            await sink.send_str(msg.data)
        elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await sink.close(code=_sendable(source.close_code))
            return


def _sendable(code: int | None) -> int:
    """A close code that may go on the wire: 1005/1006/1015 only describe what a peer saw
    (no code, a dropped connection, a TLS failure) and gorilla refuses them ("bad close
    code 1006"); after a relayed Status the stream ended normally as far as the client goes."""
    if code is None or code in (1005, 1006, 1015) or not 1000 <= code <= 4999:
        return 1000
    return code
