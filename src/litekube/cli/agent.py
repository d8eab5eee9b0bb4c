"""The embedded node: kubelet (real containers), pod streams, service proxy, cluster DNS, Ingress.

Started by `litekube server` unless `--disable-agent`; needs root (runc, mounts, network
namespaces, nftables). Shutdown stops every container and removes every pod network, the
nftables table and the DNS address, so nothing outlives the server.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

import click

from litekube.api.resources import lookup
from litekube.apiserver.server import APIServer
from litekube.cli.server import register_component
from litekube.client.base import ApiError, Client

log = logging.getLogger(__name__)
Stop = Callable[[], Awaitable[None]]

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


async def _ensure_kube_dns_service(client: Client) -> None:
    rt = lookup("", "v1", "services")
    assert rt is not None
    try:
        await client.create(rt, KUBE_DNS_SERVICE, "kube-system")
    except ApiError as e:
        if e.code != 409:
            raise


async def start_agent(server: APIServer, options: dict[str, object]) -> Stop:
    if os.geteuid() != 0:
        click.echo("litekube: not root, so no real node runs here (containers need root)", err=True)

        async def nothing() -> None:
            return None

        return nothing
    from litekube.dns import build_dns
    from litekube.node.kubelet import build_kubelet
    from litekube.node.streams import PodStreams
    from litekube.node.streams.kubelet_backend import for_kubelet
    from litekube.proxy import build_proxy

    client = server.local_client()
    stops: list[Stop] = []

    async def stop() -> None:
        for s in reversed(stops):
            try:
                await s()
            except Exception:
                log.exception("agent shutdown step failed")
        await client.close()

    try:
        kubelet = build_kubelet(client, server.config.data_dir)
        await kubelet.start()
        stops.append(lambda: kubelet.stop(cleanup=True))
        assert server.handlers is not None
        PodStreams(for_kubelet(kubelet)).register(server.handlers)
        proxy = build_proxy(client, node_name=kubelet.node_name)
        await proxy.start()
        stops.append(proxy.stop)
        await _ensure_kube_dns_service(client)
        dns = build_dns(client)
        await dns.start()
        stops.append(dns.stop)
        if not options.get("disable_ingress"):
            from litekube.ingress import build_ingress_controller

            ingress = build_ingress_controller(
                client,
                server.config.data_dir,
                http_port=int(options.get("ingress_http_port") or 80),  # type: ignore[call-overload]
                https_port=int(options.get("ingress_https_port") or 443),  # type: ignore[call-overload]
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
    except BaseException:
        await stop()
        raise
    return stop


register_component("agent", start_agent)
