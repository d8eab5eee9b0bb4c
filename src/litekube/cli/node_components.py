"""One node's components, started against any API client: the embedded node and `litekube agent`.

    start_node(client, NodeOptions, serve_streams)
      ─▶ kubelet (real containers: runc + conmon, CNI bridge on the node's pod CIDR)
      ─▶ serve_streams(kubelet): how `kubectl logs/exec/attach/port-forward` reach it —
           embedded: handlers inside the API server process (cli/agent.py)
           joined agent: its own HTTPS port the API server proxies to (cli/agent_command.py)
      ─▶ service proxy (nftables) ─▶ the kube-dns Service ─▶ cluster DNS on 10.96.0.10
      ─▶ the nginx Ingress controller (optional)

The returned stop runs the steps backwards: every container stopped, every pod network,
the nftables table and the DNS address removed. The client stays the caller's to close.
The components only see a `Client`: none of them imports the API server.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from litekube.api.resources import lookup
from litekube.client.base import ApiError, Client

if TYPE_CHECKING:
    from litekube.node.kubelet import Kubelet

log = logging.getLogger(__name__)
Stop = Callable[[], Awaitable[None]]
ServeStreams = Callable[["Kubelet"], Awaitable[Stop]]

KUBE_DNS_SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "kube-dns",
        "namespace": "kube-system",
        "labels": {
            "k8s-app": "kube-dns",
            "kubernetes.io/name": "CoreDNS",
            "kubernetes.io/cluster-service": "true",
        },
    },
    "spec": {
        "clusterIP": "10.96.0.10",
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
        ],
        "selector": {"k8s-app": "kube-dns"},
    },
}


@dataclass
class NodeOptions:
    data_dir: Path
    node_name: str | None = None  # default: the host name
    pod_cidr: str | None = None  # default: the embedded node's 10.244.0.0/24
    node_ip: str | None = None  # default: the address the default route leaves from
    kubelet_port: int | None = None  # advertised in status.daemonEndpoints (default 10250)
    ingress: bool = True
    ingress_http_port: int = 80
    ingress_https_port: int = 443


async def ensure_kube_dns_service(client: Client) -> None:
    rt = lookup("", "v1", "services")
    assert rt is not None
    try:
        await client.create(rt, KUBE_DNS_SERVICE, "kube-system")
    except ApiError as e:
        if e.code != 409:
            raise


async def start_node(client: Client, options: NodeOptions, serve_streams: ServeStreams) -> Stop:
    from litekube.dns import build_dns
    from litekube.node.kubelet import build_kubelet
    from litekube.proxy import build_proxy

    stops: list[Stop] = []

    async def stop() -> None:
        for s in reversed(stops):
            try:
                await s()
            except Exception:
                log.exception("node shutdown step failed")

    try:
        kubelet = build_kubelet(
            client,
            options.data_dir,
            options.node_name,
            pod_cidr=options.pod_cidr,
            host_ip=options.node_ip,
            kubelet_port=options.kubelet_port,
        )
        await kubelet.start()
        stops.append(lambda: kubelet.stop(cleanup=True))
        stops.append(await serve_streams(kubelet))
        proxy = build_proxy(client, node_name=kubelet.node_name)
        await proxy.start()
        stops.append(proxy.stop)
        await ensure_kube_dns_service(client)
        dns = build_dns(client)
        await dns.start()
        stops.append(dns.stop)
        if options.ingress:
            await _start_ingress(client, options, stops)
    except BaseException:
        await stop()
        raise
    return stop


async def _start_ingress(client: Client, options: NodeOptions, stops: list[Stop]) -> None:
    from litekube.ingress import build_ingress_controller

    ingress = build_ingress_controller(
        client, options.data_dir, http_port=options.ingress_http_port, https_port=options.ingress_https_port
    )
    try:
        await ingress.start()
    except Exception as e:  # e.g. port 80 taken by a system nginx: run without Ingress
        click.echo(
            f"litekube: the Ingress controller did not start ({e}); "
            "use --ingress-http-port/--ingress-https-port or --disable-ingress",
            err=True,
        )
        await ingress.stop()
    else:
        stops.append(ingress.stop)
