"""Client and transport interface.

A transport answers `request()` with (HTTP status, decoded JSON body) and `watch()` with
an async iterator of watch events ({"type": ..., "object": {...}}). The client turns
non-2xx answers into ApiError carrying the Kubernetes Status body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, TypedDict

from litekube.api.resources import ResourceType

JSON = dict[str, Any]


class WatchEventDict(TypedDict):
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
    object: JSON


class ApiError(Exception):
    """A non-2xx answer from the API. `status` is the Kubernetes Status body."""

    def __init__(self, code: int, status: JSON) -> None:
        super().__init__(f"{code} {status.get('reason', '')}: {status.get('message', '')}")
        self.code = code
        self.status = status

    @property
    def reason(self) -> str:
        return str(self.status.get("reason", ""))

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def conflict(self) -> bool:
        return self.code == 409


class Transport(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]: ...

    def watch(self, path: str, query: Mapping[str, str] | None = None) -> AsyncIterator[WatchEventDict]: ...

    async def close(self) -> None: ...


class Client:
    """Typed-by-resource access to the API. Objects are plain dicts."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def _call(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        code, data = await self.transport.request(method, path, query, body, content_type)
        if code >= 300:
            raise ApiError(code, data if isinstance(data, dict) else {"message": str(data)})
        return data

    async def get(self, rt: ResourceType, name: str, namespace: str | None = None) -> JSON:
        result: JSON = await self._call("GET", rt.path(namespace, name))
        return result

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
    ) -> JSON:
        """The List object: {"items": [...], "metadata": {"resourceVersion": ...}}."""
        query: dict[str, str] = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        if resource_version is not None:
            query["resourceVersion"] = resource_version
        result: JSON = await self._call("GET", rt.path(namespace), query)
        return result

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEventDict]:
        query: dict[str, str] = {"watch": "true"}
        if resource_version is not None:
            query["resourceVersion"] = resource_version
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        if timeout_seconds is not None:
            query["timeoutSeconds"] = str(timeout_seconds)
        if allow_bookmarks:
            query["allowWatchBookmarks"] = "true"
        return self.transport.watch(rt.path(namespace), query)

    async def create(self, rt: ResourceType, body: JSON, namespace: str | None = None) -> JSON:
        ns = namespace or body.get("metadata", {}).get("namespace")
        result: JSON = await self._call("POST", rt.path(ns), None, _with_type(rt, body))
        return result

    async def update(self, rt: ResourceType, body: JSON) -> JSON:
        meta = body["metadata"]
        result: JSON = await self._call(
            "PUT", rt.path(meta.get("namespace"), meta["name"]), None, _with_type(rt, body)
        )
        return result

    async def update_status(self, rt: ResourceType, body: JSON) -> JSON:
        meta = body["metadata"]
        path = rt.path(meta.get("namespace"), meta["name"]) + "/status"
        result: JSON = await self._call("PUT", path, None, _with_type(rt, body))
        return result

    async def patch(
        self,
        rt: ResourceType,
        name: str,
        patch: Any,
        namespace: str | None = None,
        patch_type: str = "application/merge-patch+json",
        subresource: str | None = None,
    ) -> JSON:
        path = rt.path(namespace, name) + (f"/{subresource}" if subresource else "")
        result: JSON = await self._call("PATCH", path, None, patch, patch_type)
        return result

    async def delete(
        self,
        rt: ResourceType,
        name: str,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: JSON | None = None,
    ) -> JSON:
        body: JSON = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            body["preconditions"] = preconditions
        result: JSON = await self._call("DELETE", rt.path(namespace, name), None, body)
        return result

    async def create_subresource(
        self, rt: ResourceType, name: str, subresource: str, body: JSON, namespace: str | None = None
    ) -> JSON:
        """POST to a subresource, e.g. pods/binding or pods/eviction."""
        result: JSON = await self._call("POST", rt.path(namespace, name) + f"/{subresource}", None, body)
        return result

    async def close(self) -> None:
        await self.transport.close()


def _with_type(rt: ResourceType, body: JSON) -> JSON:
    if body.get("kind") and body.get("apiVersion"):
        return body
    return {**body, "apiVersion": rt.api_version, "kind": rt.kind}
