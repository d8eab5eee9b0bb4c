"""`litekube nodes simulate`: add kwok-style simulated nodes to a running cluster.

The nodes live in this process (heartbeats, pod status) and talk to the cluster over HTTPS
like any agent; they go away (NotReady, then their pods are evicted) when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import click

from litekube.apiserver.server import default_data_dir


@click.group("nodes")
def nodes() -> None:
    """Nodes of the cluster."""


@nodes.command("simulate")
@click.option("--count", type=int, default=1, show_default=True)
@click.option("--prefix", default="sim-extra-", show_default=True, help="Node name prefix.")
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=None)
def simulate(count: int, prefix: str, kubeconfig: Path | None) -> None:
    """Register COUNT simulated nodes and keep them alive until interrupted."""
    from litekube.client.kubeconfig import client_from_kubeconfig
    from litekube.machinery.clock import RealClock
    from litekube.node.simulated import SimulatedNodes

    path = kubeconfig or Path(os.environ.get("KUBECONFIG") or default_data_dir() / "kubeconfig")

    async def run() -> None:
        client = client_from_kubeconfig(path, user_agent="litekube-simulated-nodes")
        sim = SimulatedNodes(client, RealClock(), count, name_prefix=prefix)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await sim.start()
        click.echo(f"{count} simulated node(s) {prefix}0..{count - 1} registered; Ctrl-C to stop", err=True)
        try:
            await stop.wait()
        finally:
            await sim.stop()
            await client.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
