"""`litekube server`: the API server plus (as they land) controllers, scheduler and node agent.

Runs until SIGTERM/SIGINT, then stops every component in reverse order so that nothing
(processes, mounts, network state) outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import click

from litekube.apiserver.server import APIServer, APIServerConfig, default_data_dir

log = logging.getLogger("litekube")

# Other components register here: (name, factory(apiserver, options) -> awaitable stop function).
Component = Callable[[APIServer, dict[str, object]], Awaitable[Callable[[], Awaitable[None]]]]
COMPONENTS: list[tuple[str, Component]] = []


def register_component(name: str, factory: Component) -> None:
    COMPONENTS.append((name, factory))


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a process holding many long-lived objects.

    The server keeps every watched object in informer caches and the watch cache (10,000
    pods are millions of dicts and strings). With CPython's default thresholds (700, 10, 10)
    young collections run every few hundred allocations and full ones traverse all of it:
    measured at 10,000 simulated pods, 640 pods/s and a 210 ms p99 write latency, against 805
    pods/s and 52 ms with the settings below. API objects are trees (freed by reference
    counting), so cycles are rare: startup objects are frozen out of collection, and young
    collections wait for 50,000 net allocations.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


async def run_server(config: APIServerConfig, options: dict[str, object], started: float) -> None:
    server = APIServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stoppers: list[tuple[str, Callable[[], Awaitable[None]]]] = []
    try:
        await server.start()
        ms = (time.monotonic() - started) * 1000
        kubeconfig = config.kubeconfig_path
        click.echo(f"litekube API server ready at {server.url} in {ms:.0f} ms", err=True)
        click.echo(
            f"kubeconfig: {kubeconfig}\n  export KUBECONFIG={kubeconfig}   # or: litekube kubectl get pods",
            err=True,
        )
        if server.node_join is not None:
            token = server.node_join.token_path
            click.echo(
                f"node token: {token}\n  join a machine: litekube agent --server "
                f"https://{server.advertise_address}:{config.port} --token-file {token}   # copy the file",
                err=True,
            )
        for name, factory in COMPONENTS:
            if options.get(f"disable_{name}"):
                continue
            stoppers.append((name, await factory(server, options)))
        tune_gc()
        await stop.wait()
        click.echo("litekube: shutting down", err=True)
    finally:
        for name, stopper in reversed(stoppers):
            try:
                await asyncio.wait_for(stopper(), timeout=30)
            except Exception:
                log.exception("stopping %s failed", name)
        await server.stop()


@click.command("server")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="State, certificates and kubeconfig (default /var/lib/litekube as root).",
)
@click.option("--port", type=int, default=6443, show_default=True, help="HTTPS port of the API server.")
@click.option("--bind-address", default="0.0.0.0", show_default=True)
@click.option(
    "--storage",
    default="",
    help="sqlite:///path/state.db (default), etcd://host:2379[,host:2379...] or memory://.",
)
@click.option("--tls-san", multiple=True, help="Extra host name or IP for the serving certificate.")
@click.option(
    "--advertise-address",
    default="",
    help="Address pods reach the API server at (the `kubernetes` Service); default from --bind-address.",
)
@click.option("--simulated-nodes", type=int, default=0, help="Register N simulated (kwok-style) nodes.")
@click.option("--disable-controllers", is_flag=True, help="Run no controllers or scheduler.")
@click.option("--disable-agent", is_flag=True, help="Run no real node on this machine.")
@click.option("--disable-ingress", is_flag=True, help="Run no nginx Ingress controller.")
@click.option("--ingress-http-port", type=int, default=80, show_default=True)
@click.option("--ingress-https-port", type=int, default=443, show_default=True)
@click.option("-v", "--verbose", count=True)
def server_command(
    data_dir: Path | None,
    port: int,
    bind_address: str,
    storage: str,
    tls_san: tuple[str, ...],
    advertise_address: str,
    simulated_nodes: int,
    disable_controllers: bool,
    disable_agent: bool,
    disable_ingress: bool,
    ingress_http_port: int,
    ingress_https_port: int,
    verbose: int,
) -> None:
    """Run a litekube cluster on this machine."""
    started = time.monotonic()
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = APIServerConfig(
        data_dir=data_dir or default_data_dir(),
        port=port,
        bind_address=bind_address,
        storage=storage,
        extra_sans=list(tls_san),
        advertise_address=advertise_address,
    )
    options: dict[str, object] = {
        "simulated_nodes": simulated_nodes,
        "disable_controllers": disable_controllers,
        "disable_agent": disable_agent,
        "disable_ingress": disable_ingress,
        "ingress_http_port": ingress_http_port,
        "ingress_https_port": ingress_https_port,
    }
    # The standard event loop, not uvloop: under uvloop, asyncio subprocesses that exit before
    # reading their stdin (CNI plugins' VERSION, for one) fail with "handler is closed"
    # instead of the BrokenPipeError asyncio tolerates; every component is tested on this loop.
    runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(run_server(config, options, started))
    sys.exit(0)
