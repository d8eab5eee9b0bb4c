"""The API server process part: PKI, storage, registry, HTTPS and local listeners, bootstrap.

APIServer.start():
    tls/ (CA, serving and admin certs, tokens; the advertise address is a SAN)
    ─▶ storage.start() ─▶ registry.start()
    ─▶ bootstrap objects (namespaces, the `kubernetes` Service) ─▶ HTTPS :6443 + unix socket
    ─▶ kubeconfig written
Joining nodes: tls/node-token, GET /cacerts, POST /v1-litekube/node-credentials
(node_join.py); pod streams route to the pod's node (node_proxy.py).
APIServer.advertise_address: where pods reach this server (the `kubernetes` Service's
endpoints, written by the endpoints controller): the node IP for a wildcard bind.
APIServer.local_client(): the in-process transport for components in this process.
APIServer.stop(): watches end, listeners close, storage flushes and closes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from aiohttp import web

from litekube.api.resources import lookup
from litekube.apiserver import errors, serviceaccount_token
from litekube.apiserver.auth import TokenAuthenticator
from litekube.apiserver.http import build_app
from litekube.apiserver.inprocess import InProcessTransport
from litekube.apiserver.node_join import NodeJoin
from litekube.apiserver.node_proxy import NodeStreamProxy
from litekube.apiserver.pki import ClusterPKI, ensure_pki
from litekube.apiserver.registry import Registry, WriteOptions
from litekube.apiserver.rest import ResourceHandlers
from litekube.apiserver.watch import WatchHub
from litekube.client import Client
from litekube.client.http import HttpTransport
from litekube.machinery.hostnet import advertise_address
from litekube.storage import open_storage
from litekube.storage.types import Storage

log = logging.getLogger(__name__)

BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def default_data_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/litekube")
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "litekube"


@dataclass
class APIServerConfig:
    data_dir: Path = field(default_factory=default_data_dir)
    port: int = 6443
    bind_address: str = "0.0.0.0"
    advertise_address: str = ""  # default: from bind_address (machinery/hostnet.py)
    storage: str = ""  # default: sqlite at <data-dir>/state.db
    extra_sans: list[str] = field(default_factory=list)
    compact_interval: float = 300.0

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "apiserver.sock"


class APIServer:
    def __init__(self, config: APIServerConfig) -> None:
        self.config = config
        self.pki: ClusterPKI | None = None
        self.storage: Storage | None = None
        self.registry: Registry | None = None
        self.handlers: ResourceHandlers | None = None
        self.tokens = TokenAuthenticator(config.data_dir / "tls" / "tokens.csv")
        self.admin_token = ""
        self.node_join: NodeJoin | None = None
        self.node_streams: NodeStreamProxy | None = None
        # what the `kubernetes` Service's endpoints point at: an address pods can reach
        self.advertise_address = config.advertise_address or advertise_address(config.bind_address)
        self._runner: web.AppRunner | None = None
        self._ready = False

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.config.port}"

    async def start(self) -> None:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(cfg.data_dir, 0o700)
        self.pki = ensure_pki(cfg.data_dir / "tls", [*cfg.extra_sans, self.advertise_address])
        self.admin_token = self.tokens.ensure_admin_token()
        url = cfg.storage or f"sqlite://{cfg.data_dir / 'state.db'}"
        self.storage = open_storage(url)
        await self.storage.start()
        self.registry = Registry(self.storage)
        await self.registry.start()
        await self._bootstrap()
        hub = WatchHub(self.storage, self.registry)
        self.handlers = ResourceHandlers(self.registry, hub)
        self.tokens.verifiers.append(
            serviceaccount_token.install(self.registry, cfg.data_dir / "tls").authenticate
        )
        app = build_app(self.handlers, self.tokens, lambda: self._ready)
        # other machines join as nodes (node_join.py); their pods' streams go to them (node_proxy.py)
        self.node_join = NodeJoin(self.registry, self.pki)
        self.node_join.add_routes(app)
        join = self.node_join
        self.node_streams = NodeStreamProxy(
            self.registry, self.pki.ca_cert, join.kubelet_client_cert, join.kubelet_client_key
        )
        self.handlers.stream_handlers.update(self.node_streams.handlers())
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        ssl_ctx.load_verify_locations(self.pki.ca_cert)
        ssl_ctx.verify_mode = ssl.CERT_OPTIONAL
        ssl_ctx.set_alpn_protocols(["http/1.1"])
        await web.TCPSite(
            self._runner, cfg.bind_address, cfg.port, ssl_context=ssl_ctx, backlog=1024, reuse_address=True
        ).start()
        cfg.socket_path.unlink(missing_ok=True)
        await web.UnixSite(self._runner, str(cfg.socket_path)).start()
        os.chmod(cfg.socket_path, 0o600)
        self.tokens.add_local_socket(str(cfg.socket_path))
        self.write_kubeconfig()
        self._ready = True

    def local_client(self) -> Client:
        """A client for co-located components: calls go straight to the registry in this
        process (see inprocess.py); the rare request that needs HTTP takes the unix socket."""
        assert self.registry is not None and self.handlers is not None
        transport = InProcessTransport(
            self.registry, self.handlers.hub, self.handlers.watches, fallback=self._socket_transport()
        )
        return Client(transport)

    def socket_client(self) -> Client:
        """A client over the local unix socket: the full HTTP stack, as a separate process sees it."""
        return Client(self._socket_transport())

    def _socket_transport(self) -> HttpTransport:
        return HttpTransport("http://localhost", unix_socket=str(self.config.socket_path))

    async def stop(self) -> None:
        self._ready = False
        if self.handlers is not None:
            self.handlers.shut_down()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.node_streams is not None:
            await self.node_streams.close()
        if self.storage is not None:
            await self.storage.close()
            self.storage = None
        self.config.socket_path.unlink(missing_ok=True)

    async def _bootstrap(self) -> None:
        assert self.registry is not None
        ns_rt = lookup("", "v1", "namespaces")
        svc_rt = lookup("", "v1", "services")
        assert ns_rt is not None and svc_rt is not None
        quiet = WriteOptions(field_validation="Ignore")
        for name in BOOTSTRAP_NAMESPACES:
            if not await self.registry.namespace_exists(name):
                await self.registry.create(ns_rt, None, {"metadata": {"name": name}}, quiet)
        kubernetes_svc = {
            "metadata": {
                "name": "kubernetes",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.96.0.1",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.config.port}],
                "sessionAffinity": "None",
            },
        }
        try:
            await self.registry.get(svc_rt, "default", "kubernetes")
        except errors.ApiException as e:
            if e.code != 404:
                raise
            await self.registry.create(svc_rt, "default", kubernetes_svc, quiet)

    def kubeconfig(self, server: str | None = None) -> dict[str, object]:
        assert self.pki is not None
        b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()  # noqa: E731
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "litekube",
                    "cluster": {
                        "server": server or self.url,
                        "certificate-authority-data": b64(self.pki.ca_cert),
                    },
                }
            ],
            "users": [
                {
                    "name": "litekube-admin",
                    "user": {
                        "client-certificate-data": b64(self.pki.admin_cert),
                        "client-key-data": b64(self.pki.admin_key),
                    },
                }
            ],
            "contexts": [
                {
                    "name": "litekube",
                    "context": {"cluster": "litekube", "user": "litekube-admin", "namespace": "default"},
                }
            ],
            "current-context": "litekube",
            "preferences": {},
        }

    def write_kubeconfig(self) -> Path:
        path = self.config.kubeconfig_path
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(self.kubeconfig(), f, sort_keys=False)
        os.replace(tmp, path)
        return path


async def wait_forever(stop: asyncio.Event) -> None:
    await stop.wait()
