"""Kubernetes `Status` bodies as the fake API returns them (same shapes and messages as upstream)."""

from __future__ import annotations

from litekube.api.resources import ResourceType
from litekube.client.base import JSON, WatchEventDict


def status(code: int, reason: str, message: str, details: JSON | None = None) -> JSON:
    body: JSON = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def details_of(rt: ResourceType, name: str) -> JSON:
    details: JSON = {"name": name, "kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    return details


def not_found(rt: ResourceType, name: str) -> JSON:
    return status(404, "NotFound", f'{rt.group_resource} "{name}" not found', details_of(rt, name))


def already_exists(rt: ResourceType, name: str) -> JSON:
    return status(409, "AlreadyExists", f'{rt.group_resource} "{name}" already exists', details_of(rt, name))


def conflict(rt: ResourceType, name: str) -> JSON:
    message = (
        f'Operation cannot be fulfilled on {rt.group_resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return status(409, "Conflict", message, details_of(rt, name))


def namespace_terminating(rt: ResourceType, name: str, namespace: str) -> JSON:
    message = (
        f'{rt.group_resource} "{name}" is forbidden: unable to create new content in namespace '
        f"{namespace} because it is being terminated"
    )
    details = details_of(rt, name)
    details["causes"] = [
        {
            "reason": "NamespaceTerminating",
            "message": f"namespace {namespace} is being terminated",
            "field": "metadata.namespace",
        }
    ]
    return status(403, "Forbidden", message, details)


def error_event(code: int, reason: str, message: str) -> WatchEventDict:
    return {"type": "ERROR", "object": status(code, reason, message)}
