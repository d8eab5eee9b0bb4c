"""The embedded node: `litekube server` runs one node in its own process unless `--disable-agent`.

The components are node_components.start_node's (the same as `litekube agent`'s); what
differs is the wiring: the API client is the in-process one, and pod streams are served
inside the API server (its NodeStreamProxy hands this node's pods to these handlers and
joined agents' pods to them). Needs root (runc, mounts, network namespaces, nftables).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from litekube.apiserver.server import APIServer
from litekube.cli.node_components import NodeOptions, Stop, start_node
from litekube.cli.server import register_component

if TYPE_CHECKING:
    from litekube.node.kubelet import Kubelet


async def start_agent(server: APIServer, options: dict[str, object]) -> Stop:
    if os.geteuid() != 0:
        click.echo("litekube: not root, so no real node runs here (containers need root)", err=True)

        async def nothing() -> None:
            return None

        return nothing
    from litekube.node.streams import PodStreams
    from litekube.node.streams.kubelet_backend import for_kubelet

    async def serve_streams(kubelet: Kubelet) -> Stop:
        proxy = server.node_streams
        assert proxy is not None
        proxy.set_local(kubelet.node_name, PodStreams(for_kubelet(kubelet)).handlers())

        async def unplug() -> None:
            proxy.set_local("", {})

        return unplug

    client = server.local_client()
    node = NodeOptions(
        data_dir=server.config.data_dir,
        ingress=not options.get("disable_ingress"),
        ingress_http_port=int(options.get("ingress_http_port") or 80),  # type: ignore[call-overload]
        ingress_https_port=int(options.get("ingress_https_port") or 443),  # type: ignore[call-overload]
    )
    try:
        stop_node = await start_node(client, node, serve_streams)
    except BaseException:
        await client.close()
        raise

    async def stop() -> None:
        await stop_node()
        await client.close()

    return stop


register_component("agent", start_agent)
