"""Kubernetes `Status` errors raised anywhere in the apiserver and rendered in one place.

`ApiException` carries the HTTP code and the Status body; handlers raise it and the HTTP
layer (or the in-process transport) turns it into the answer. Messages follow upstream's
apimachinery `errors` package word for word, because kubectl prints them as they are.
"""

from __future__ import annotations

from typing import Any

from litekube.api.resources import ResourceType

JSON = dict[str, Any]


class ApiException(Exception):
    def __init__(self, code: int, reason: str, message: str, details: JSON | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> JSON:
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class StatusException(ApiException):
    """An exception whose Status body was built elsewhere (e.g. validation's 422)."""

    def __init__(self, body: JSON) -> None:
        super().__init__(
            int(body.get("code", 500)), str(body.get("reason", "")), str(body.get("message", ""))
        )
        self.body = body

    def status(self) -> JSON:
        return self.body


def _details(rt: ResourceType | None, name: str | None) -> JSON:
    d: JSON = {}
    if name:
        d["name"] = name
    if rt is not None:
        d["group"] = rt.group
        d["kind"] = rt.plural
    return d


def not_found(rt: ResourceType, name: str) -> ApiException:
    return ApiException(404, "NotFound", f'{rt.group_resource} "{name}" not found', _details(rt, name))


def namespace_not_found(name: str) -> ApiException:
    return ApiException(
        404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"}
    )


def already_exists(rt: ResourceType, name: str) -> ApiException:
    return ApiException(
        409, "AlreadyExists", f'{rt.group_resource} "{name}" already exists', _details(rt, name)
    )


def conflict(rt: ResourceType, name: str, why: str | None = None) -> ApiException:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiException(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rt.group_resource} "{name}": {why}',
        _details(rt, name),
    )


def bad_request(message: str) -> ApiException:
    return ApiException(400, "BadRequest", message)


def invalid(rt: ResourceType, name: str, causes: list[JSON], message: str) -> ApiException:
    details = {"name": name, "group": rt.group, "kind": rt.kind, "causes": causes}
    return ApiException(422, "Invalid", message, details)


def gone(message: str) -> ApiException:
    return ApiException(410, "Expired", message)


def unauthorized() -> ApiException:
    return ApiException(401, "Unauthorized", "Unauthorized")


def forbidden(message: str, rt: ResourceType | None = None, name: str | None = None) -> ApiException:
    return ApiException(403, "Forbidden", message, _details(rt, name))


def method_not_supported(rt: ResourceType, action: str) -> ApiException:
    return ApiException(
        405,
        "MethodNotAllowed",
        f"{action} is not supported on resources of kind {rt.group_resource!r}",
        _details(rt, None),
    )


def unsupported_media_type(content_type: str) -> ApiException:
    return ApiException(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - "
        f"accepted media types include: application/json, application/yaml, "
        f"application/vnd.kubernetes.protobuf, application/json-patch+json, "
        f"application/merge-patch+json, application/strategic-merge-patch+json, "
        f"application/apply-patch+yaml (got {content_type!r})",
    )


def path_not_found() -> ApiException:
    return ApiException(404, "NotFound", "the server could not find the requested resource", {})


def internal(message: str) -> ApiException:
    return ApiException(500, "InternalError", f"Internal error occurred: {message}")


def too_large_resource_version(requested: int, current: int) -> ApiException:
    return ApiException(
        504,
        "Timeout",
        f"Too large resource version: {requested}, current: {current}",
        {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1,
        },
    )
