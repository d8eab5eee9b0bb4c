"""Requests through the in-process transport: CRUD, subresources, and errors identical to HTTP."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from litekube.api.resources import lookup
from litekube.apiserver.inprocess import InProcessTransport
from litekube.client.base import ApiError
from tests.apiserver_inprocess.conftest import Api

CONFIGMAPS = lookup("", "v1", "configmaps")
PODS = lookup("", "v1", "pods")
DEPLOYMENTS = lookup("apps", "v1", "deployments")
assert CONFIGMAPS is not None and PODS is not None and DEPLOYMENTS is not None

CM_PATH = "/api/v1/namespaces/default/configmaps"


def _pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }


def _deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


async def _both(
    api: Api, method: str, path: str, body: Any = None, ctype: str = "application/json", **query: str
) -> tuple[tuple[int, Any], tuple[int, Any]]:
    """The same request through both transports (bodies copied: each path owns its own)."""
    local = await api.local.transport.request(method, path, query or None, copy.deepcopy(body), ctype)
    http = await api.http.transport.request(method, path, query or None, copy.deepcopy(body), ctype)
    return local, http


async def test_the_local_client_is_in_process(api: Api) -> None:
    assert isinstance(api.local.transport, InProcessTransport)


async def test_crud_matches_what_http_reads(api: Api) -> None:
    created = await api.local.create(CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"k": "v"}}, "default")
    assert created["kind"] == "ConfigMap" and created["apiVersion"] == "v1"
    assert created == await api.http.get(CONFIGMAPS, "a", "default")
    assert created == await api.local.get(CONFIGMAPS, "a", "default")

    created["data"]["k"] = "w"
    updated = await api.local.update(CONFIGMAPS, created)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    patched = await api.local.patch(CONFIGMAPS, "a", {"data": {"x": "y"}}, "default")
    assert patched["data"] == {"k": "w", "x": "y"}
    json_patched = await api.local.patch(
        CONFIGMAPS, "a", [{"op": "remove", "path": "/data/x"}], "default", "application/json-patch+json"
    )
    assert json_patched["data"] == {"k": "w"}
    assert json_patched == await api.http.get(CONFIGMAPS, "a", "default")

    local_list = await api.local.list(CONFIGMAPS, "default")
    http_list = await api.http.list(CONFIGMAPS, "default")
    assert local_list == http_list and [i["metadata"]["name"] for i in local_list["items"]] == ["a"]

    deleted = await api.local.delete(CONFIGMAPS, "a", "default")
    assert deleted["metadata"]["name"] == "a"
    with pytest.raises(ApiError) as e:
        await api.http.get(CONFIGMAPS, "a", "default")
    assert e.value.code == 404


async def test_defaults_generate_name_and_selectors(api: Api) -> None:
    generated = {**_pod(""), "metadata": {"generateName": "web-", "labels": {"app": "x"}}}
    pod = await api.local.create(PODS, generated, "default")
    assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == 9
    assert pod["spec"]["restartPolicy"] == "Always"  # defaulted
    assert pod["spec"]["containers"][0]["terminationMessagePath"] == "/dev/termination-log"
    await api.local.create(PODS, _pod("other", {"app": "y"}), "default")
    local, http = await _both(api, "GET", "/api/v1/namespaces/default/pods", labelSelector="app=x")
    assert local == http and [p["metadata"]["name"] for p in local[1]["items"]] == [pod["metadata"]["name"]]
    local, http = await _both(
        api, "GET", "/api/v1/namespaces/default/pods", fieldSelector="metadata.name=other"
    )
    assert local == http and len(local[1]["items"]) == 1


async def test_status_scale_and_binding_subresources(api: Api) -> None:
    await api.local.create(DEPLOYMENTS, _deployment("web"), "default")
    status = await api.local.patch(
        DEPLOYMENTS,
        "web",
        {"status": {"replicas": 7}, "spec": {"replicas": 9}},
        "default",
        subresource="status",
    )
    assert status["status"]["replicas"] == 7 and status["spec"]["replicas"] == 2  # status only
    local, http = await _both(api, "GET", "/apis/apps/v1/namespaces/default/deployments/web/scale")
    assert local == http and local[1]["spec"]["replicas"] == 2
    code, scale = await api.local.transport.request(
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
        None,
        {"spec": {"replicas": 5}},
        "application/merge-patch+json",
    )
    assert code == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 5
    assert (await api.http.get(DEPLOYMENTS, "web", "default"))["spec"]["replicas"] == 5

    await api.local.create(PODS, _pod("p"), "default")
    bound = await api.local.create_subresource(
        PODS, "p", "binding", {"apiVersion": "v1", "kind": "Binding", "target": {"name": "node-1"}}, "default"
    )
    assert bound["status"] == "Success"
    pod = await api.http.get(PODS, "p", "default")
    assert pod["spec"]["nodeName"] == "node-1"
    local, http = await _both(
        api,
        "POST",
        "/api/v1/namespaces/default/pods/p/binding",
        {"apiVersion": "v1", "kind": "Binding", "target": {"name": "node-2"}},
    )
    assert local == http and local[0] == 409


async def test_field_validation_and_dry_run(api: Api) -> None:
    body = {"metadata": {"name": "f"}, "data": {"a": "b"}, "bogus": 1}
    local, http = await _both(api, "POST", CM_PATH, body)
    assert local == http and local[0] == 400 and 'unknown field "bogus"' in local[1]["message"]
    code, obj = await api.local.transport.request("POST", CM_PATH, {"fieldValidation": "Ignore"}, body)
    assert code == 201 and "bogus" not in obj
    code, obj = await api.local.transport.request(
        "POST", CM_PATH, {"dryRun": "All"}, {"metadata": {"name": "dry"}}
    )
    assert code == 201
    with pytest.raises(ApiError):
        await api.local.get(CONFIGMAPS, "dry", "default")
    local, http = await _both(api, "POST", CM_PATH, {"metadata": {"name": "g"}}, dryRun="Some")
    assert local == http and local[0] == 400


async def test_errors_are_the_http_status(api: Api) -> None:
    await api.local.create(CONFIGMAPS, {"metadata": {"name": "x"}}, "default")
    current = await api.local.get(CONFIGMAPS, "x", "default")
    await api.local.patch(CONFIGMAPS, "x", {"data": {"n": "1"}}, "default")
    stale = {**current, "data": {"n": "2"}}
    cases: list[tuple[str, str, Any, str, dict[str, str]]] = [
        ("GET", f"{CM_PATH}/missing", None, "application/json", {}),  # 404
        ("POST", CM_PATH, {"metadata": {"name": "x"}}, "application/json", {}),  # 409 AlreadyExists
        ("PUT", f"{CM_PATH}/x", stale, "application/json", {}),  # 409 Conflict
        ("POST", CM_PATH, {"metadata": {"name": "Not_Valid"}}, "application/json", {}),  # 422
        (
            "POST",
            "/api/v1/namespaces/nowhere/configmaps",
            {"metadata": {"name": "n"}},
            "application/json",
            {},
        ),
        ("PATCH", f"{CM_PATH}/x", {"data": {}}, "text/plain", {}),  # 415
        ("PATCH", f"{CM_PATH}/x", {"data": 5}, "application/merge-patch+json", {}),  # 400 types
        ("GET", CM_PATH, None, "application/json", {"labelSelector": "a in (b"}),  # 400 selector
        ("PUT", CM_PATH, {"metadata": {"name": "x"}}, "application/json", {}),  # 405
        ("POST", CM_PATH, [1, 2], "application/json", {}),  # not an object
        ("DELETE", f"{CM_PATH}/x", {"preconditions": {"uid": "nope"}}, "application/json", {}),
        ("PATCH", f"{CM_PATH}/x", {"data": {}}, "application/apply-patch+yaml", {}),  # no fieldManager
        ("GET", "/api/v1/namespaces/default/nothings", None, "application/json", {}),  # no such path
    ]
    for method, path, body, ctype, query in cases:
        local, http = await _both(api, method, path, body, ctype, **query)
        assert local[0] >= 400, (method, path, local)
        assert local == http, (method, path, local, http)
    codes = [(await api.local.transport.request(m, p, q or None, b, c))[0] for m, p, b, c, q in cases]
    assert codes == [404, 409, 409, 422, 404, 415, 400, 400, 405, 400, 409, 400, 404]


async def test_client_raises_api_error_with_the_status(api: Api) -> None:
    with pytest.raises(ApiError) as local:
        await api.local.get(PODS, "missing", "default")
    with pytest.raises(ApiError) as http:
        await api.http.get(PODS, "missing", "default")
    assert local.value.code == http.value.code == 404
    assert local.value.status == http.value.status
    assert local.value.status["details"] == {"name": "missing", "group": "", "kind": "pods"}


async def test_what_is_not_a_resource_request_goes_over_http(api: Api) -> None:
    code, body = await api.local.transport.request("GET", "/api/v1")
    assert code == 200 and body["kind"] == "APIResourceList"
    code, body = await api.local.transport.request("GET", "/version")
    assert code == 200 and "gitVersion" in body
    await api.local.create(PODS, _pod("s"), "default")
    local, http = await _both(api, "GET", "/api/v1/namespaces/default/pods/s/log")
    assert local == http and local[0] == 400  # no node agent in this server
