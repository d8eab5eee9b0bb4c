"""`litekube agent --server URL --token T`: this machine joins a litekube cluster as a node.

    token K10<sha256 of the CA>::node:<secret>   (the server's <data-dir>/tls/node-token)
    ─▶ GET <server>/cacerts, unverified, kept only if its sha256 is the token's hash
       (or --ca-cert FILE, for a bare token)
    ─▶ POST <server>/v1-litekube/node-credentials (TLS verified by that CA, the node secret
       as bearer): a client certificate system:node:<name> (group system:nodes), a serving
       certificate for the stream port, and this node's pod CIDR; written under
       <data-dir>/tls/ (keys 0600)
    ─▶ node_components.start_node over HTTPS with the client certificate: kubelet, service
       proxy, cluster DNS (the Ingress controller unless --disable-ingress)
    ─▶ pod streams on :10250 (NodeStreamServer); the Node is annotated
       `litekube.io/kubelet-api: https` so the API server proxies this node's pods there
    SIGTERM/SIGINT ─▶ everything stopped and removed, as the embedded node does.

A refused token or a CA that does not match exits 1 with the reason on stderr; an
unreachable server is retried for --join-timeout seconds first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import socket
import ssl
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import click
import orjson

from litekube.api.resources import lookup
from litekube.apiserver.node_join import CACERTS_PATH, CREDENTIALS_PATH, parse_token
from litekube.apiserver.node_proxy import KUBELET_API_ANNOTATION
from litekube.cli.node_components import NodeOptions, Stop, start_node
from litekube.client.base import Client
from litekube.client.http import HttpTransport
from litekube.machinery.hostnet import primary_ipv4

if TYPE_CHECKING:
    from litekube.node.kubelet import Kubelet

log = logging.getLogger("litekube.agent")
DEFAULT_DATA_DIR = Path("/var/lib/litekube-agent")


class JoinError(Exception):
    """Joining cannot succeed as asked (wrong token, wrong CA): retrying will not help."""


@dataclass
class Credentials:
    ca_cert: Path
    client_cert: Path
    client_key: Path
    serving_cert: Path
    serving_key: Path
    pod_cidr: str


def _write(path: Path, text: str, private: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)


async def fetch_ca(server: str, token: str, ca_given: bytes | None) -> bytes:
    """The cluster CA: the --ca-cert file's bytes when given, else /cacerts checked against the pin."""
    pin, _ = parse_token(token)
    if ca_given is not None:
        ca_pem = ca_given
    elif pin is None:
        raise JoinError("the token carries no CA hash (K10<sha256>::node:<secret>); pass --ca-cert FILE")
    else:
        # Unverified on purpose: what comes back is only trusted if it hashes to the pin.
        async with aiohttp.ClientSession() as session, session.get(server + CACERTS_PATH, ssl=False) as resp:
            if resp.status != 200:
                raise JoinError(f"GET {CACERTS_PATH}: HTTP {resp.status}")
            ca_pem = await resp.read()
    if pin is not None and hashlib.sha256(ca_pem).hexdigest() != pin:
        raise JoinError(
            f"the server's CA certificate (sha256 {hashlib.sha256(ca_pem).hexdigest()}) does not match "
            f"the token's hash {pin}: wrong server, or wrong token"
        )
    return ca_pem


async def join(
    server: str, token: str, ca_given: bytes | None, node_name: str, node_ip: str, tls: Path
) -> Credentials:
    ca_pem = await fetch_ca(server, token, ca_given)
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    _, credential = parse_token(token)
    body = orjson.dumps({"nodeName": node_name, "addresses": [node_ip]})
    headers = {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(server + CREDENTIALS_PATH, data=body, headers=headers, ssl=ctx) as resp,
    ):
        raw = await resp.read()
        if resp.status == 401:
            raise JoinError("the server refused the join token (401 Unauthorized)")
        if resp.status != 200:
            raise JoinError(f"joining failed: HTTP {resp.status}: {raw.decode(errors='replace')[:300]}")
    return _save(tls, ca_pem, orjson.loads(raw))


def _save(tls: Path, ca_pem: bytes, answer: dict[str, Any]) -> Credentials:
    tls.mkdir(parents=True, exist_ok=True, mode=0o700)
    creds = Credentials(
        tls / "ca.crt",
        tls / "node.crt",
        tls / "node.key",
        tls / "kubelet.crt",
        tls / "kubelet.key",
        answer["podCIDR"],
    )
    _write(creds.ca_cert, ca_pem.decode())
    _write(creds.client_cert, answer["clientCertificate"])
    _write(creds.client_key, answer["clientKey"], private=True)
    _write(creds.serving_cert, answer["servingCertificate"])
    _write(creds.serving_key, answer["servingKey"], private=True)
    return creds


async def join_with_retries(
    server: str, token: str, ca_given: bytes | None, node_name: str, node_ip: str, tls: Path, patience: float
) -> Credentials:
    deadline = time.monotonic() + patience
    while True:
        try:
            return await join(server, token, ca_given, node_name, node_ip, tls)
        except (aiohttp.ClientConnectionError, TimeoutError) as e:
            if time.monotonic() >= deadline:
                raise JoinError(f"cannot reach the server at {server}: {e}") from e
            log.warning("server not reachable yet (%s); retrying", e)
            await asyncio.sleep(1.0)


def api_client(server: str, creds: Credentials) -> Client:
    ctx = ssl.create_default_context(cafile=str(creds.ca_cert))
    ctx.load_cert_chain(creds.client_cert, creds.client_key)
    return Client(HttpTransport(server, ssl_context=ctx, user_agent="litekube-agent"))


async def run_agent(
    server: str,
    token: str,
    ca_given: bytes | None,
    node: NodeOptions,
    node_name: str,
    node_ip: str,
    bind_address: str,
    join_timeout: float,
) -> None:
    from litekube.node.streams import PodStreams
    from litekube.node.streams.kubelet_backend import for_kubelet
    from litekube.node.streams.serve import NodeStreamServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    node.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(node.data_dir, 0o700)
    creds = await join_with_retries(
        server, token, ca_given, node_name, node_ip, node.data_dir / "tls", join_timeout
    )
    node.pod_cidr = creds.pod_cidr
    client = api_client(server, creds)

    async def serve_streams(kubelet: Kubelet) -> Stop:
        streams = NodeStreamServer(
            PodStreams(for_kubelet(kubelet)),
            creds.ca_cert,
            creds.serving_cert,
            creds.serving_key,
            host=bind_address,
            port=node.kubelet_port or 10250,
        )
        await streams.start()
        nodes = lookup("", "v1", "nodes")
        assert nodes is not None
        # the mark that makes the API server send this node's pod streams here
        await kubelet.client.patch(
            nodes, kubelet.node_name, {"metadata": {"annotations": {KUBELET_API_ANNOTATION: "https"}}}
        )
        return streams.stop

    stop_node: Stop | None = None
    try:
        stop_node = await start_node(client, node, serve_streams)
        click.echo(
            f"litekube agent: node {node_name} joined {server} (pod CIDR {creds.pod_cidr}, "
            f"streams on {bind_address}:{node.kubelet_port or 10250})",
            err=True,
        )
        await stop.wait()
        click.echo("litekube agent: shutting down", err=True)
    finally:
        if stop_node is not None:
            try:
                await asyncio.wait_for(stop_node(), timeout=90)
            except Exception:
                log.exception("stopping the node failed")
        await client.close()


@click.command("agent")
@click.option("--server", required=True, help="The API server, https://HOST:PORT.")
@click.option(
    "--token", envvar="LITEKUBE_TOKEN", default="", help="The server's node token (tls/node-token)."
)
@click.option(
    "--token-file", type=click.Path(path_type=Path, dir_okay=False), help="Read the token from a file."
)
@click.option(
    "--ca-cert",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The cluster CA, for a token without its K10<sha256> hash.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Images, containers, pod volumes and this node's certificates.",
)
@click.option("--node-name", default="", help="Default: the host name.")
@click.option("--node-ip", default="", help="The node's InternalIP (default: the default route's address).")
@click.option(
    "--kubelet-port", type=int, default=10250, show_default=True, help="HTTPS port for pod streams."
)
@click.option("--disable-ingress", is_flag=True, help="Run no nginx Ingress controller.")
@click.option("--ingress-http-port", type=int, default=80, show_default=True)
@click.option("--ingress-https-port", type=int, default=443, show_default=True)
@click.option(
    "--join-timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for the server."
)
@click.option("-v", "--verbose", count=True)
def agent_command(
    server: str,
    token: str,
    token_file: Path | None,
    ca_cert: Path | None,
    data_dir: Path,
    node_name: str,
    node_ip: str,
    kubelet_port: int,
    disable_ingress: bool,
    ingress_http_port: int,
    ingress_https_port: int,
    join_timeout: float,
    verbose: int,
) -> None:
    """Join this machine to a litekube cluster as a node."""
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if token_file is not None:
        token = token_file.read_text().strip()
    if not token:
        raise click.UsageError("a join token is needed: --token, --token-file or LITEKUBE_TOKEN")
    if os.geteuid() != 0:
        click.echo("litekube agent: must run as root (containers, mounts, network namespaces)", err=True)
        sys.exit(1)
    name = (node_name or socket.gethostname()).lower()
    ip = node_ip or primary_ipv4()
    node = NodeOptions(
        data_dir=data_dir,
        node_name=name,
        node_ip=ip,
        kubelet_port=kubelet_port,
        ingress=not disable_ingress,
        ingress_http_port=ingress_http_port,
        ingress_https_port=ingress_https_port,
    )
    # streams listen on the node IP when it is given, on every address otherwise (as the kubelet)
    bind = node_ip or "0.0.0.0"
    try:
        with contextlib.suppress(KeyboardInterrupt):
            ca = ca_cert.read_bytes() if ca_cert is not None else None
            asyncio.run(run_agent(server.rstrip("/"), token, ca, node, name, ip, bind, join_timeout))
    except JoinError as e:
        click.echo(f"litekube agent: {e}", err=True)
        sys.exit(1)
    sys.exit(0)
