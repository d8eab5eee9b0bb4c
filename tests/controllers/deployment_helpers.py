"""Shared setup for the Deployment tests: a deployment body and a cluster with both controllers."""

from __future__ import annotations

from litekube.client.base import JSON
from litekube.controllers.deployment import DeploymentController
from litekube.controllers.pods import is_pod_active, is_pod_available
from litekube.controllers.replicaset import ReplicaSetController
from litekube.controllers.resources import PODS
from tests.controllers.harness import Env


def deployment_body(
    name: str = "web",
    replicas: int = 3,
    image: str = "nginx:1.21",
    strategy: JSON | None = None,
    **spec: object,
) -> JSON:
    labels = {"app": name}
    body: JSON = {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
            **spec,
        },
    }
    if strategy is not None:
        body["spec"]["strategy"] = strategy
    return body


class Cluster:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.deployments = DeploymentController(env.client, env.informers, env.clock)
        self.replica_sets = ReplicaSetController(env.client, env.informers, env.clock)

    async def settle(self) -> None:
        await self.env.drive(self.deployments, self.replica_sets)

    def live_pods(self) -> list[JSON]:
        return [p for p in self.env.objects(PODS) if is_pod_active(p)]

    def available_pods(self) -> list[JSON]:
        return [p for p in self.live_pods() if is_pod_available(p, 0, self.env.clock.now())]
