"""OpenAPI v3 documents: shape checks, and the real kubectl reading them from a tiny server."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from litekube.api.apply import server_side_apply
from litekube.api.openapi import openapi_v3_document, openapi_v3_index
from litekube.api.patch import json_merge_patch, strategic_merge_patch
from litekube.version import KUBERNETES_GIT_VERSION, KUBERNETES_MINOR

KUBECTL = Path(sys.executable).parent / "kubectl"
LIVE = web.AppKey("live", dict[str, dict[str, Any]])  # {"object": the stored Deployment}
PATCHES = web.AppKey("patches", list[tuple[str, str, Any]])
_AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def _doc(gv: str) -> dict[str, Any]:
    body = openapi_v3_document(gv)
    assert body is not None
    loaded: dict[str, Any] = orjson.loads(body)
    return loaded


def test_index_lists_every_served_group_version_with_a_hash() -> None:
    paths = openapi_v3_index()["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/batch/v1"} <= set(paths)
    url = paths["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=") and len(url.split("=")[1]) == 128


def test_unknown_group_version_has_no_document() -> None:
    assert openapi_v3_document("apis/nope/v1") is None


def test_patch_operation_carries_gvk_and_field_validation() -> None:
    doc = _doc("apis/apps/v1")
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert op["x-kubernetes-action"] == "patch"
    names = {p["name"] for p in op["parameters"]}
    assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= names
    assert set(op["requestBody"]["content"]) == {
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    }
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"]["kind"] == "Scale"
    assert "/apis/apps/v1/deployments" in doc["paths"]


def test_cluster_scoped_paths_have_no_namespace_segment() -> None:
    doc = _doc("api/v1")
    assert "/api/v1/nodes/{name}" in doc["paths"]
    assert "/api/v1/namespaces/{namespace}/pods/{name}/status" in doc["paths"]


def test_component_schemas_are_openapi_3() -> None:
    schemas = _doc("apis/apps/v1")["components"]["schemas"]
    spec = schemas["io.k8s.api.apps.v1.DeploymentSpec"]
    assert spec["properties"]["replicas"]["type"] == "integer"
    strategy = spec["properties"]["strategy"]
    assert strategy["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    assert "enum" not in deployment["properties"]["kind"]
    for name in ("DeleteOptions", "Status", "ObjectMeta", "Patch"):
        assert "io.k8s.apimachinery.pkg.apis.meta.v1." + name in schemas
    assert "io.k8s.api.autoscaling.v1.Scale" in schemas
    assert "io.k8s.api.core.v1.Container" in schemas  # reachable through the pod template
    assert b'"null"' not in orjson.dumps(schemas)
    assert b"#/$defs/" not in orjson.dumps(schemas)


# --- the real kubectl ---------------------------------------------------------------------


def _discovery(core: bool) -> dict[str, Any]:
    def res(plural: str, singular: str, kind: str, short: list[str], group: str = "") -> dict[str, Any]:
        return {
            "resource": plural,
            "singularResource": singular,
            "scope": "Namespaced",
            "responseKind": {"group": group, "version": "v1", "kind": kind},
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            "shortNames": short,
        }

    if core:
        resources = [res("pods", "pod", "Pod", ["po"]), res("services", "service", "Service", ["svc"])]
        name = ""
    else:
        resources = [res("deployments", "deployment", "Deployment", ["deploy"], "apps")]
        name = "apps"
    group = {
        "metadata": {"name": name},
        "versions": [{"version": "v1", "freshness": "Current", "resources": resources}],
    }
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [group],
    }


def _app() -> web.Application:
    async def version(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "major": "1",
                "minor": KUBERNETES_MINOR,
                "gitVersion": KUBERNETES_GIT_VERSION,
                "platform": "linux/amd64",
            }
        )

    async def discovery(request: web.Request) -> web.Response:
        body = orjson.dumps(_discovery(request.path == "/api"))
        return web.Response(body=body, headers={"Content-Type": _AGGREGATED})

    async def index(_: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(openapi_v3_index()), content_type="application/json")

    async def document(request: web.Request) -> web.Response:
        body = openapi_v3_document(request.match_info["gv"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/json")

    deployment_path = "/apis/apps/v1/namespaces/default/deployments/web"

    async def get_deployment(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(request.app[LIVE]["object"]), content_type="application/json")

    async def patch_deployment(request: web.Request) -> web.Response:
        body = await request.read()
        request.app[PATCHES].append((request.content_type, request.query_string, orjson.loads(body)))
        current = request.app[LIVE]["object"]
        if request.content_type == "application/apply-patch+yaml":
            manager = request.query["fieldManager"]
            live = server_side_apply(
                current, orjson.loads(body), manager, request.query.get("force") == "true"
            )
        else:
            live = strategic_merge_patch(current, orjson.loads(body), "apps", "v1", "Deployment")
        request.app[LIVE]["object"] = live
        return web.Response(body=orjson.dumps(live), content_type="application/json")

    app = web.Application()
    state: dict[str, dict[str, Any]] = {"object": {}}
    app[LIVE] = state
    app[PATCHES] = []
    app.router.add_get(deployment_path, get_deployment)
    app.router.add_patch(deployment_path, patch_deployment)
    app.router.add_get("/version", version)
    app.router.add_get("/api", discovery)
    app.router.add_get("/apis", discovery)
    app.router.add_get("/openapi/v3", index)
    app.router.add_get("/openapi/v3/{gv:.+}", document)
    return app


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, web.Application]]:
    loop = asyncio.new_event_loop()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = _app()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.SockSite(runner, sock).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", app
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()
    sock.close()


@pytest.fixture
def server_url(server: tuple[str, web.Application]) -> str:
    return server[0]


def _kubectl(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "")}
    return subprocess.run(
        [str(KUBECTL), "--server", url, "--cache-dir", str(home / "cache"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


pytestmark_kubectl = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed")


@pytestmark_kubectl
def test_kubectl_explain_deployment_strategy(server_url: str, tmp_path: Path) -> None:
    out = _kubectl(server_url, tmp_path, "explain", "deployment.spec.strategy")
    assert out.returncode == 0, out.stderr
    print(out.stdout)
    assert "GROUP:      apps" in out.stdout
    assert "KIND:       Deployment" in out.stdout
    assert "FIELD: strategy <DeploymentStrategy>" in out.stdout
    assert "rollingUpdate\t<RollingUpdateDeployment>" in out.stdout
    assert "type\t<string>" in out.stdout


@pytestmark_kubectl
def test_kubectl_explain_pods_and_service_ports(server_url: str, tmp_path: Path) -> None:
    pods = _kubectl(server_url, tmp_path, "explain", "pods")
    assert pods.returncode == 0, pods.stderr
    print(pods.stdout)
    assert "KIND:       Pod\nVERSION:    v1\n" in pods.stdout
    assert "  spec\t<PodSpec>\n" in pods.stdout
    ports = _kubectl(server_url, tmp_path, "explain", "svc.spec.ports")
    assert ports.returncode == 0, ports.stderr
    print(ports.stdout)
    assert "FIELD: ports <[]ServicePort>" in ports.stdout
    assert "  port\t<integer> -required-" in ports.stdout
    assert "  targetPort\t<IntOrString>" in ports.stdout


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MANIFEST_V1 = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
                    {"name": "side", "image": "busybox"},
                ]
            },
        },
    },
}


@pytestmark_kubectl
def test_kubectl_apply_computes_its_patch_from_our_schemas(
    server: tuple[str, web.Application], tmp_path: Path
) -> None:
    url, app = server
    live = json_merge_patch(_MANIFEST_V1, {})
    live["metadata"]["annotations"] = {_LAST_APPLIED: orjson.dumps(_MANIFEST_V1).decode() + "\n"}
    live["metadata"]["uid"] = "u1"
    live["metadata"]["resourceVersion"] = "1"
    app[LIVE]["object"] = live
    app[PATCHES].clear()
    manifest = json_merge_patch(
        _MANIFEST_V1,
        {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": None}}},
    )
    manifest["spec"]["template"]["spec"]["containers"] = [{"name": "nginx", "image": "nginx:1.27"}]
    path = tmp_path / "web.json"
    path.write_bytes(orjson.dumps(manifest))
    out = _kubectl(url, tmp_path, "apply", "-f", str(path))
    assert out.returncode == 0, out.stderr
    assert "error calculating patch" not in out.stderr
    assert "deployment.apps/web configured" in out.stdout
    [(content_type, query, body)] = app[PATCHES]
    assert content_type == "application/strategic-merge-patch+json"
    assert "fieldValidation=Strict" in query
    spec = body["spec"]
    assert spec["strategy"]["$retainKeys"] == ["type"]
    assert spec["template"]["spec"]["$setElementOrder/containers"] == [{"name": "nginx"}]
    result = app[LIVE]["object"]["spec"]
    assert result["strategy"] == {"type": "Recreate"}
    assert result["template"]["spec"]["containers"] == [{"name": "nginx", "image": "nginx:1.27"}]


@pytestmark_kubectl
def test_kubectl_server_side_apply_stops_its_last_applied_patch(
    server: tuple[str, web.Application], tmp_path: Path
) -> None:
    url, app = server
    live = json_merge_patch(_MANIFEST_V1, {})
    live["metadata"]["annotations"] = {_LAST_APPLIED: orjson.dumps(_MANIFEST_V1).decode() + "\n"}
    app[LIVE]["object"] = live
    app[PATCHES].clear()
    path = tmp_path / "web.json"
    path.write_bytes(orjson.dumps(_MANIFEST_V1))
    for _ in range(2):
        out = _kubectl(url, tmp_path, "apply", "--server-side", "-f", str(path))
        assert out.returncode == 0, out.stderr
        assert "deployment.apps/web serverside-applied" in out.stdout
    managers = [query.split("fieldManager=")[1].split("&")[0] for _, query, _ in app[PATCHES]]
    # The extra kubectl-last-applied apply happens once, then managedFields show its owner.
    assert managers == ["kubectl", "kubectl-last-applied", "kubectl"]
    entries = {e["manager"]: e for e in app[LIVE]["object"]["metadata"]["managedFields"]}
    assert set(entries) == {"kubectl", "kubectl-last-applied"}
