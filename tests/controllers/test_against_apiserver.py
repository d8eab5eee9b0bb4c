"""The controllers over the real apiserver (in-process, its local socket): the contract kubectl sees.

A pretend kubelet marks pods Ready through pods/status; everything else is the controllers.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from litekube.apiserver.server import APIServer, APIServerConfig
from litekube.client.base import Client
from litekube.controllers.deployment import util
from litekube.controllers.manager import ControllerManager
from litekube.controllers.resources import DEPLOYMENTS, PODS, REPLICA_SETS, SERVICE_ACCOUNTS
from litekube.machinery.clock import RealClock, rfc3339
from tests.controllers.deployment_helpers import deployment_body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ready_all(client: Client) -> None:
    for pod in (await client.list(PODS, "default"))["items"]:
        conditions = (pod.get("status") or {}).get("conditions") or []
        if pod["metadata"].get("deletionTimestamp") or any(
            c["type"] == "Ready" and c["status"] == "True" for c in conditions
        ):
            continue
        now = rfc3339(RealClock().now())
        status = {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
        }
        await client.patch(PODS, pod["metadata"]["name"], {"status": status}, "default", subresource="status")


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_deployment_lifecycle_against_the_apiserver(tmp_path: Path) -> None:
    server = APIServer(APIServerConfig(data_dir=tmp_path, port=free_port(), bind_address="127.0.0.1"))
    await server.start()
    client = server.local_client()
    manager = ControllerManager(client, RealClock())
    await manager.start()
    try:
        await client.create(DEPLOYMENTS, deployment_body())

        async def rolled_out(generation: int) -> bool:
            await ready_all(client)
            d = await client.get(DEPLOYMENTS, "web", "default")
            s = d.get("status") or {}
            return (
                s.get("observedGeneration") == generation
                and s.get("updatedReplicas") == s.get("availableReplicas") == s.get("replicas") == 3
            )

        await eventually(lambda: rolled_out(1))
        sas = (await client.list(SERVICE_ACCOUNTS, "default"))["items"]
        assert [sa["metadata"]["name"] for sa in sas] == ["default"]

        # what `kubectl set image` sends
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.22"}]}}}}
        await client.patch(
            DEPLOYMENTS, "web", patch, "default", patch_type="application/strategic-merge-patch+json"
        )
        await eventually(lambda: rolled_out(2))
        rss = {
            rs["metadata"]["annotations"][util.REVISION]: rs["spec"]["replicas"]
            for rs in (await client.list(REPLICA_SETS, "default", label_selector="app=web"))["items"]
        }
        assert rss == {"1": 0, "2": 3}
        d = await client.get(DEPLOYMENTS, "web", "default")
        assert d["metadata"]["annotations"][util.REVISION] == "2"
        progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
        assert progressing["reason"] == "NewReplicaSetAvailable"

        await client.delete(DEPLOYMENTS, "web", "default", propagation_policy="Background")

        async def all_gone() -> bool:
            pods = (await client.list(PODS, "default"))["items"]
            return not pods and not (await client.list(REPLICA_SETS, "default"))["items"]

        await eventually(all_gone)
    finally:
        await manager.stop()
        await client.close()
        await server.stop()
