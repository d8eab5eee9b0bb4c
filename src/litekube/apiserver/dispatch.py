"""Verb dispatch shared by the HTTP handlers (`rest.py`) and the in-process transport (`inprocess.py`).

Both front ends turn a request into the same call, so a write means the same thing whoever
sends it:

    path ─▶ parse_path ─▶ ResourceRequest(rt, namespace, name, subresource)
    (method, ResourceRequest, query, read_body, content type) ─▶ dispatch
        ─▶ a registered subresource handler (scale, binding, ...), else
        ─▶ collection: GET list · POST create · DELETE deletecollection
        ─▶ object: GET · PUT · PATCH · DELETE (status and finalize ride on these)
        ─▶ Answer(code, obj or encoded JSON, warnings)   or an ApiException

What stays with each front end: watches and the streaming pod subresources (log, exec,
attach, portforward) need a stream, and Tables are content negotiation (HTTP's Accept
header). The body is read through a callback so a malformed body fails at the same point in
the checks on either path. A new subresource is added once, in `SUBRESOURCE_HANDLERS`, and
both front ends serve it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from litekube.api.resources import ResourceType, lookup
from litekube.apiserver import errors
from litekube.apiserver.objects import now_rfc3339
from litekube.apiserver.registry import (
    PATCH_APPLY,
    PATCH_JSON,
    PATCH_MERGE,
    PATCH_STRATEGIC,
    ListOptions,
    Registry,
    WriteOptions,
)

PATCH_TYPES = (PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY)
# Served by whoever runs containers, over a stream: never through `dispatch`.
STREAMING_SUBRESOURCES = frozenset({"log", "exec", "attach", "portforward"})

BodyReader = Callable[[], Awaitable[Any]]
Query = Mapping[str, str]


@dataclass
class ResourceRequest:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


@dataclass
class Answer:
    """A successful answer. `encoded` holds the JSON bytes when the registry produced them
    directly (lists); `obj` is then None and `value()` decodes on demand."""

    code: int
    obj: Any = None
    warnings: list[str] = field(default_factory=list)
    encoded: bytes | None = None

    def value(self) -> Any:
        return orjson.loads(self.encoded) if self.encoded is not None else self.obj


SubresourceHandler = Callable[[Registry, str, ResourceRequest, Query, BodyReader, str], Awaitable[Answer]]


def parse_path(path: str) -> ResourceRequest | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        rt = lookup(group, version, rest[2])
        if rt is not None and rt.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = lookup(group, version, rest[0])
    if rt is None or len(rest) > 3:
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if rt.namespaced and namespace is None and name is not None:
        return None  # namespaced objects are only addressed inside a namespace
    if sub is not None and sub not in rt.subresources:
        return None
    return ResourceRequest(rt, namespace, name, sub)


def write_options_from(query: Query) -> WriteOptions:
    dry_run = query.get("dryRun", "")
    if dry_run and dry_run != "All":
        raise errors.bad_request(f'Invalid dry run value: "{dry_run}", supported values: "All"')
    fv = query.get("fieldValidation", "") or "Strict"
    if fv not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(
            f"fieldValidation parameter unsupported value {fv!r}; "
            'valid values are: "Ignore", "Warn", "Strict"'
        )
    return WriteOptions(
        dry_run=bool(dry_run),
        field_validation=fv,
        field_manager=query.get("fieldManager", ""),
        force=query.get("force", "") == "true",
    )


def list_options_from(query: Query) -> ListOptions:
    try:
        limit = int(query.get("limit", "0") or 0)
    except ValueError:
        raise errors.bad_request("limit must be an integer") from None
    return ListOptions(
        label_selector=query.get("labelSelector", ""),
        field_selector=query.get("fieldSelector", ""),
        limit=max(limit, 0),
        continue_token=query.get("continue", ""),
        resource_version=query.get("resourceVersion", ""),
        resource_version_match=query.get("resourceVersionMatch", ""),
    )


async def dispatch(
    registry: Registry,
    method: str,
    rr: ResourceRequest,
    query: Query,
    read_body: BodyReader,
    content_type: str,
) -> Answer:
    """One non-streaming request against the registry. Raises ApiException on failure."""
    if rr.subresource is not None:
        handler = SUBRESOURCE_HANDLERS.get(rr.subresource)
        if handler is not None:
            return await handler(registry, method, rr, query, read_body, content_type)
    if rr.name is None:
        return await _collection(registry, method, rr, query, read_body)
    if method == "GET":
        return Answer(200, await registry.get(rr.rt, rr.namespace, rr.name))
    if method == "PUT":
        body = await read_body()
        result = await registry.update(
            rr.rt, rr.namespace, rr.name, body, write_options_from(query), rr.subresource
        )
        return Answer(201 if result.created else 200, result.obj, result.warnings)
    if method == "PATCH":
        if content_type not in PATCH_TYPES:
            raise errors.unsupported_media_type(content_type)
        body = await read_body()
        opts = write_options_from(query)
        if content_type == PATCH_APPLY and not opts.field_manager:
            raise errors.bad_request("PATCH, application/apply-patch+yaml requests must have a fieldManager")
        result = await registry.patch(rr.rt, rr.namespace, rr.name, body, content_type, opts, rr.subresource)
        return Answer(201 if result.created else 200, result.obj, result.warnings)
    if method == "DELETE":
        options = await read_body() or {}
        if not isinstance(options, dict):
            raise errors.bad_request("DeleteOptions must be a JSON object")
        for key in ("gracePeriodSeconds", "propagationPolicy"):
            if key in query and key not in options:
                value: Any = query[key]
                options[key] = int(value) if key == "gracePeriodSeconds" else value
        opts = write_options_from(query)
        code, obj = await registry.delete(rr.rt, rr.namespace, rr.name, options, opts.dry_run)
        return Answer(code, obj)
    raise errors.method_not_supported(rr.rt, method.lower())


async def _collection(
    registry: Registry, method: str, rr: ResourceRequest, query: Query, read_body: BodyReader
) -> Answer:
    if method == "GET":  # watches are the front ends' (they stream)
        listing = list_options_from(query)
        encoded = await registry.list_encoded(rr.rt, rr.namespace, listing)
        if encoded is not None:
            return Answer(200, encoded=encoded)
        return Answer(200, await registry.list_objects(rr.rt, rr.namespace, listing))
    if method == "POST":
        if rr.rt.namespaced and rr.namespace is None:
            raise errors.path_not_found()
        body = await read_body()
        result = await registry.create(rr.rt, rr.namespace, body, write_options_from(query))
        return Answer(201, result.obj, result.warnings)
    if method == "DELETE":
        options = await read_body() or {}
        opts = write_options_from(query)
        listed = await registry.delete_collection(
            rr.rt, rr.namespace, list_options_from(query), options, opts.dry_run
        )
        return Answer(200, listed)
    raise errors.method_not_supported(rr.rt, method.lower())


# ---------------------------------------------------------------------- subresources
async def _scale(
    registry: Registry, method: str, rr: ResourceRequest, query: Query, read_body: BodyReader, ctype: str
) -> Answer:
    assert rr.name is not None
    if method == "GET":
        return Answer(200, await registry.get_scale(rr.rt, rr.namespace, rr.name))
    if method not in ("PUT", "PATCH"):
        raise errors.method_not_supported(rr.rt, method.lower())
    body = await read_body()
    ptype = ctype if method == "PATCH" else None
    if ptype is not None and ptype not in PATCH_TYPES:
        raise errors.unsupported_media_type(ptype)
    scale = await registry.update_scale(rr.rt, rr.namespace, rr.name, body, ptype, write_options_from(query))
    return Answer(200, scale)


async def _binding(
    registry: Registry, method: str, rr: ResourceRequest, query: Query, read_body: BodyReader, ctype: str
) -> Answer:
    assert rr.name is not None
    if method != "POST":
        raise errors.method_not_supported(rr.rt, method.lower())
    body = await read_body()
    target = (body or {}).get("target") or {}
    node = target.get("name")
    if not node:
        raise errors.bad_request("binding target name is required")
    pod = await registry.get(rr.rt, rr.namespace, rr.name)
    current = (pod.get("spec") or {}).get("nodeName")
    if current:
        raise errors.conflict(rr.rt, rr.name, f'pod {rr.name} is already assigned to node "{current}"')
    pod["spec"]["nodeName"] = node
    status = pod.setdefault("status", {})
    conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    conds.append(
        {
            "type": "PodScheduled",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": now_rfc3339(),
        }
    )
    status["conditions"] = conds
    # Binding writes spec and status together, which the main resource would not allow.
    await registry.update(
        rr.rt, rr.namespace, rr.name, pod, WriteOptions(field_validation="Ignore"), "binding"
    )
    return Answer(
        201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    )


# Subresources with their own verbs; "status" and "finalize" are the object verbs with a
# subresource argument. Another module may register more (the same handler then serves HTTP
# and in-process callers).
SUBRESOURCE_HANDLERS: dict[str, SubresourceHandler] = {"scale": _scale, "binding": _binding}
