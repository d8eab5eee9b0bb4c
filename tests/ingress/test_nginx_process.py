"""The real nginx under NginxProcess: validation, reload, restart after a crash, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from litekube.ingress.certificates import default_certificate
from litekube.ingress.model import RoutingModel, build_model
from litekube.ingress.nginx_conf import RenderConfig, render
from litekube.ingress.nginx_process import NginxProcess
from tests.ingress import objects
from tests.ingress.conftest import free_port, nginx_processes
from tests.ingress.http import echo_backend, get


def conf(tmp_path: Path, port: int, backend: int, body_size: str = "1m") -> str:
    ing = objects.seed_ingress("08")
    ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] = body_size
    items = [
        *objects.seed_backends(["127.0.0.1"], ["127.0.0.1"], backend, backend),
        objects.nginx_class(),
        ing,
    ]
    kinds: dict[str, list[dict[str, object]]] = {}
    for item in items:
        kinds.setdefault(str(item["kind"]), []).append(item)
    model: RoutingModel = build_model(
        kinds["Ingress"],
        kinds["IngressClass"],
        kinds["Service"],
        kinds["EndpointSlice"],
        [],  # type: ignore[arg-type]
    )
    config = RenderConfig(tmp_path, port, free_port(), "127.0.0.1", worker_processes="1")
    default_certificate(config.ssl_dir)
    return render(model, config)


async def test_reload_restart_and_stop(tmp_path: Path, nginx_binary: str) -> None:
    port = free_port()
    nginx = NginxProcess(tmp_path, nginx_binary, stop_timeout=5)
    async with echo_backend("web-app") as backend:
        try:
            await nginx.start(conf(tmp_path, port, backend))
            assert (await get(port, "/")).body == "web-app / myapp.example.com"
            ok, message = await nginx.apply(conf(tmp_path, port, backend, body_size="lots"))
            assert not ok and "client_max_body_size" in message
            assert (await get(port, "/")).status == 200  # the last good config still serves
            assert "lots" not in (tmp_path / "nginx.conf").read_text()
            ok, _ = await nginx.apply(conf(tmp_path, port, backend, body_size="2m"))
            assert ok and nginx.reloads == 1
            assert (await get(port, "/")).status == 200
            master = nginx.pid
            assert master is not None
            os.kill(master, signal.SIGKILL)  # a crash: the supervisor starts it again
            deadline = time.monotonic() + 5
            while nginx.restarts == 0 or nginx.pid in (None, master):
                assert time.monotonic() < deadline, "nginx was not restarted"
                await asyncio.sleep(0.05)
            assert (await get(port, "/")).status == 200
        finally:
            await nginx.stop()
    assert nginx_processes(str(tmp_path)) == []
    assert not (tmp_path / "nginx.pid").exists()
