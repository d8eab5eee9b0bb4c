"""Builders for the objects these tests create (nodes, daemon sets, stateful sets)."""

from __future__ import annotations

from litekube.client.base import JSON
from litekube.controllers.daemonset.controller import NODES
from litekube.controllers.resources import PODS
from tests.controllers.harness import Env


def node(
    name: str, ready: bool = True, taints: list[JSON] | None = None, unschedulable: bool = False
) -> JSON:
    spec: JSON = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": spec,
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


async def add_node(env: Env, body: JSON) -> JSON:
    """Create a node, then write its status (a create drops status, as the API server does)."""
    created = await env.client.create(NODES, body)
    created["status"] = body["status"]
    return await env.client.update_status(NODES, created)


def pod_template(image: str, app: str) -> JSON:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def pods_of(env: Env, prefix: str) -> list[JSON]:
    return [
        p
        for p in env.objects(PODS)
        if p["metadata"]["name"].startswith(prefix) and not p["metadata"].get("deletionTimestamp")
    ]


def image_of(pod: JSON) -> str:
    return str(pod["spec"]["containers"][0]["image"])
