"""DaemonSet and StatefulSet over the real apiserver (in-process) with the scheduler and
simulated nodes, checked with the real kubectl's `rollout status` (what users run)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from litekube.apiserver.server import APIServer, APIServerConfig
from litekube.client.base import JSON, Client
from litekube.controllers.daemonset import DAEMON_SETS, DaemonSetController, target_node
from litekube.controllers.manager import ControllerManager
from litekube.controllers.resources import PODS
from litekube.controllers.statefulset import STATEFUL_SETS, StatefulSetController
from litekube.machinery.clock import RealClock
from litekube.node.simulated import SimulatedNodes
from litekube.scheduler import Scheduler
from tests.controllers.test_against_apiserver import eventually, free_port
from tests.controllers_more.helpers import pod_template

KUBECTL = Path(sys.executable).parent / "kubectl"


async def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return await asyncio.to_thread(
        subprocess.run, [str(KUBECTL), *args], capture_output=True, text=True, env=env, timeout=60
    )


async def running_pods(client: Client, prefix: str) -> list[JSON]:
    pods = (await client.list(PODS, "default"))["items"]
    return [
        p
        for p in pods
        if p["metadata"]["name"].startswith(prefix)
        and (p.get("status") or {}).get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
    ]


async def test_daemonset_and_statefulset_roll_out_on_simulated_nodes(tmp_path: Path) -> None:
    server = APIServer(APIServerConfig(data_dir=tmp_path, port=free_port(), bind_address="127.0.0.1"))
    await server.start()
    client = server.local_client()
    clock = RealClock()
    extra = {"daemonset": DaemonSetController, "statefulset": StatefulSetController, "scheduler": Scheduler}
    manager = ControllerManager(client, clock, enabled=[*extra, "garbagecollector"], extra=extra)
    nodes = SimulatedNodes(client, clock, 3, informers=manager.informers)
    kubeconfig = server.config.kubeconfig_path
    try:
        await manager.start()
        await nodes.start()
        ds = {
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": pod_template("agent:1", "agent"),
            },
        }
        await client.create(DAEMON_SETS, ds, "default")
        sts = {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "serviceName": "nginx",
                "selector": {"matchLabels": {"app": "web"}},
                "template": pod_template("nginx:1", "web"),
            },
        }
        await client.create(STATEFUL_SETS, sts, "default")

        async def settled() -> bool:
            return (
                len(await running_pods(client, "agent-")) == 3
                and len(await running_pods(client, "web-")) == 3
            )

        await eventually(settled, 30)
        daemon_pods = await running_pods(client, "agent-")
        assert sorted(p["spec"]["nodeName"] for p in daemon_pods) == [
            "sim-node-0",
            "sim-node-1",
            "sim-node-2",
        ]
        assert all(
            p["spec"]["nodeName"] == target_node({"spec": {**p["spec"], "nodeName": None}})
            for p in daemon_pods
        )
        result = await kubectl(kubeconfig, "rollout", "status", "ds/agent", "--timeout=30s")
        assert result.returncode == 0 and 'daemon set "agent" successfully rolled out' in result.stdout, (
            result
        )
        result = await kubectl(kubeconfig, "rollout", "status", "sts/web", "--timeout=30s")
        assert result.returncode == 0 and "roll out complete: 3 new pods" in result.stdout, result

        for kind, name, container in (("ds", "agent", "c"), ("sts", "web", "c")):
            result = await kubectl(kubeconfig, "set", "image", f"{kind}/{name}", f"{container}={name}:2")
            assert result.returncode == 0, result.stderr
        for kind, name in (("ds", "agent"), ("sts", "web")):
            result = await kubectl(kubeconfig, "rollout", "status", f"{kind}/{name}", "--timeout=45s")
            assert result.returncode == 0, result.stdout + result.stderr
        images = {
            p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in await running_pods(client, "")
        }
        assert sorted(images.values()) == ["agent:2"] * 3 + ["web:2"] * 3, images
        history = await kubectl(kubeconfig, "rollout", "history", "sts/web")
        assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"]
    finally:
        await nodes.stop()
        await manager.stop()
        await client.close()
        await server.stop()
