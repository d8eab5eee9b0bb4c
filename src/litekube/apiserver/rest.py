"""REST handlers for resource paths: routing, content negotiation, then the registry.

    /api/v1/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]
    /apis/{group}/{version}/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]

The request is parsed into a `ResourceRequest`, handled by verb, and answered as JSON (or as
a meta.k8s.io/v1 Table when the client asks for one). Errors are raised as ApiException and
rendered by the middleware in `http.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from litekube.api import printers
from litekube.api.resources import ResourceType, lookup
from litekube.apiserver import errors
from litekube.apiserver.objects import JSON
from litekube.apiserver.registry import (
    PATCH_APPLY,
    PATCH_JSON,
    PATCH_MERGE,
    PATCH_STRATEGIC,
    ListOptions,
    Registry,
    WriteOptions,
)
from litekube.apiserver.watch import Event, WatchHub, bookmark

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PROTOBUF = "application/vnd.kubernetes.protobuf"
_PATCH_TYPES = (PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY)

# Streaming pod subresources (log, exec, attach, portforward) are served by whoever runs
# containers (the node agent); it registers a handler here.
StreamHandler = Callable[[web.Request, "ResourceRequest"], Awaitable[web.StreamResponse]]


@dataclass
class ResourceRequest:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


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


def wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "as=Table" in accept and "g=meta.k8s.io" in accept


def write_options(request: web.Request) -> WriteOptions:
    q = request.query
    dry_run = q.get("dryRun", "")
    if dry_run and dry_run != "All":
        raise errors.bad_request(f'Invalid dry run value: "{dry_run}", supported values: "All"')
    fv = q.get("fieldValidation", "") or "Strict"
    if fv not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(
            f"fieldValidation parameter unsupported value {fv!r}; "
            'valid values are: "Ignore", "Warn", "Strict"'
        )
    return WriteOptions(
        dry_run=bool(dry_run),
        field_validation=fv,
        field_manager=q.get("fieldManager", ""),
        force=q.get("force", "") == "true",
    )


def list_options(request: web.Request) -> ListOptions:
    q = request.query
    try:
        limit = int(q.get("limit", "0") or 0)
    except ValueError:
        raise errors.bad_request("limit must be an integer") from None
    return ListOptions(
        label_selector=q.get("labelSelector", ""),
        field_selector=q.get("fieldSelector", ""),
        limit=max(limit, 0),
        continue_token=q.get("continue", ""),
        resource_version=q.get("resourceVersion", ""),
        resource_version_match=q.get("resourceVersionMatch", ""),
    )


async def read_body(request: web.Request) -> Any:
    raw = await request.read()
    ctype = request.content_type or "application/json"
    if not raw:
        return None
    if ctype == PROTOBUF:
        from litekube.api.protobuf import ProtobufError, decode

        try:
            return decode(raw)
        except ProtobufError as e:
            reason = "UnsupportedMediaType" if e.status == 415 else "BadRequest"
            raise errors.ApiException(e.status, reason, e.message) from e
    if ctype in ("application/yaml", PATCH_APPLY):
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise errors.bad_request(f"error decoding YAML: {e}") from e
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {e}") from e


def json_response(
    body: Any, status: int = 200, content_type: str = "application/json", warnings: list[str] | None = None
) -> web.Response:
    resp = web.Response(body=orjson.dumps(body), status=status, content_type=None)
    resp.headers["Content-Type"] = content_type
    for w in warnings or []:
        resp.headers.add("Warning", '299 - "' + w.replace('"', '\\"') + '"')
    return resp


class ResourceHandlers:
    def __init__(self, registry: Registry, hub: WatchHub) -> None:
        self.registry = registry
        self.hub = hub
        self.stream_handlers: dict[str, StreamHandler] = {}
        self.shutting_down = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rr = parse_path(request.path)
        if rr is None:
            raise errors.path_not_found()
        method = request.method
        if rr.subresource in ("log", "exec", "attach", "portforward"):
            handler = self.stream_handlers.get(rr.subresource)
            if handler is None:
                raise errors.bad_request(
                    f'{rr.subresource} is not available: no node agent serves pod "{rr.name}"'
                )
            return await handler(request, rr)
        if rr.subresource == "scale":
            return await self._scale(request, rr)
        if rr.subresource == "binding":
            return await self._binding(request, rr)
        if rr.name is None:
            if method == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, rr)
                return await self._list(request, rr)
            if method == "POST":
                return await self._create(request, rr)
            if method == "DELETE":
                return await self._delete_collection(request, rr)
            raise errors.method_not_supported(rr.rt, method.lower())
        if method == "GET":
            obj = await self.registry.get(rr.rt, rr.namespace, rr.name)
            return self._render_one(request, rr, obj)
        if method == "PUT":
            body = await read_body(request)
            result = await self.registry.update(
                rr.rt, rr.namespace, rr.name, body, write_options(request), rr.subresource
            )
            return json_response(result.obj, 201 if result.created else 200, warnings=result.warnings)
        if method == "PATCH":
            ptype = request.content_type
            if ptype not in _PATCH_TYPES:
                raise errors.unsupported_media_type(ptype)
            body = await read_body(request)
            opts = write_options(request)
            if ptype == PATCH_APPLY and not opts.field_manager:
                raise errors.bad_request(
                    "PATCH, application/apply-patch+yaml requests must have a fieldManager"
                )
            result = await self.registry.patch(
                rr.rt, rr.namespace, rr.name, body, ptype, opts, rr.subresource
            )
            return json_response(result.obj, 201 if result.created else 200, warnings=result.warnings)
        if method == "DELETE":
            options = await read_body(request) or {}
            if not isinstance(options, dict):
                raise errors.bad_request("DeleteOptions must be a JSON object")
            for key in ("gracePeriodSeconds", "propagationPolicy"):
                if key in request.query and key not in options:
                    value: Any = request.query[key]
                    options[key] = int(value) if key == "gracePeriodSeconds" else value
            opts = write_options(request)
            code, obj = await self.registry.delete(rr.rt, rr.namespace, rr.name, options, opts.dry_run)
            return json_response(obj, code)
        raise errors.method_not_supported(rr.rt, method.lower())

    # ------------------------------------------------------------------ verbs
    async def _create(self, request: web.Request, rr: ResourceRequest) -> web.Response:
        if rr.rt.namespaced and rr.namespace is None:
            raise errors.path_not_found()
        body = await read_body(request)
        result = await self.registry.create(rr.rt, rr.namespace, body, write_options(request))
        return json_response(result.obj, 201, warnings=result.warnings)

    async def _list(self, request: web.Request, rr: ResourceRequest) -> web.Response:
        opts = list_options(request)
        as_table = wants_table(request)
        if not as_table:
            encoded = await self.registry.list_encoded(rr.rt, rr.namespace, opts)
            if encoded is not None:
                resp = web.Response(body=encoded, content_type=None)
                resp.headers["Content-Type"] = "application/json"
                return resp
        listed = await self.registry.list_objects(rr.rt, rr.namespace, opts)
        if as_table:
            table = printers.build_table(
                rr.rt,
                listed["items"],
                include_object=request.query.get("includeObject", "Metadata"),
                resource_version=listed["metadata"]["resourceVersion"],
                continue_token=listed["metadata"].get("continue", ""),
            )
            return json_response(table, content_type=TABLE_CONTENT_TYPE)
        return json_response(listed)

    def _render_one(self, request: web.Request, rr: ResourceRequest, obj: JSON) -> web.Response:
        if wants_table(request) and rr.subresource is None:
            table = printers.build_table(
                rr.rt,
                [obj],
                include_object=request.query.get("includeObject", "Metadata"),
                resource_version=obj["metadata"].get("resourceVersion", ""),
            )
            return json_response(table, content_type=TABLE_CONTENT_TYPE)
        return json_response(obj)

    async def _delete_collection(self, request: web.Request, rr: ResourceRequest) -> web.Response:
        options = await read_body(request) or {}
        opts = write_options(request)
        listed = await self.registry.delete_collection(
            rr.rt, rr.namespace, list_options(request), options, opts.dry_run
        )
        return json_response(listed)

    async def _scale(self, request: web.Request, rr: ResourceRequest) -> web.Response:
        assert rr.name is not None
        if request.method == "GET":
            return json_response(await self.registry.get_scale(rr.rt, rr.namespace, rr.name))
        if request.method not in ("PUT", "PATCH"):
            raise errors.method_not_supported(rr.rt, request.method.lower())
        body = await read_body(request)
        ptype = request.content_type if request.method == "PATCH" else None
        if ptype is not None and ptype not in _PATCH_TYPES:
            raise errors.unsupported_media_type(ptype)
        scale = await self.registry.update_scale(
            rr.rt, rr.namespace, rr.name, body, ptype, write_options(request)
        )
        return json_response(scale)

    async def _binding(self, request: web.Request, rr: ResourceRequest) -> web.Response:
        assert rr.name is not None
        if request.method != "POST":
            raise errors.method_not_supported(rr.rt, request.method.lower())
        body = await read_body(request)
        target = (body or {}).get("target") or {}
        node = target.get("name")
        if not node:
            raise errors.bad_request("binding target name is required")
        pod = await self.registry.get(rr.rt, rr.namespace, rr.name)
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.conflict(rr.rt, rr.name, f'pod {rr.name} is already assigned to node "{current}"')
        pod["spec"]["nodeName"] = node
        status = pod.setdefault("status", {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        from litekube.apiserver.objects import now_rfc3339

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
        await self.registry.update(
            rr.rt, rr.namespace, rr.name, pod, WriteOptions(field_validation="Ignore"), "binding"
        )
        return json_response(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
        )

    # ------------------------------------------------------------------ watch
    async def _watch(self, request: web.Request, rr: ResourceRequest) -> web.StreamResponse:
        q = request.query
        try:
            timeout = float(q.get("timeoutSeconds") or 0)
        except ValueError:
            timeout = 0
        if timeout <= 0:
            timeout = random.uniform(1800, 3600)  # upstream's --min-request-timeout spread
        send_initial = q.get("sendInitialEvents")
        self.registry.selectors(
            rr.rt, q.get("labelSelector", ""), q.get("fieldSelector", "")
        )  # 400 before streaming
        events = self.hub.events(
            rr.rt,
            rr.namespace,
            q.get("resourceVersion", ""),
            q.get("labelSelector", ""),
            q.get("fieldSelector", ""),
            None if send_initial is None else send_initial == "true",
        )
        table = wants_table(request)
        bookmarks = q.get("allowWatchBookmarks") == "true"
        resp = web.StreamResponse(status=200)
        resp.headers["Content-Type"] = TABLE_CONTENT_TYPE if table else "application/json"
        resp.enable_chunked_encoding()
        first_table = True
        last_rev = 0
        iterator = events.__aiter__()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await resp.prepare(request)
        # The next event is awaited in a task that survives timeouts: cancelling the
        # generator's __anext__ would close the generator.
        pending: asyncio.Future[Event] | None = None
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0 or self.shutting_down.is_set():
                    break
                if pending is None:
                    pending = asyncio.ensure_future(iterator.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=min(remaining, 1.0))
                if not done:
                    continue
                task, pending = pending, None
                try:
                    ev = task.result()
                except StopAsyncIteration:
                    break
                except errors.ApiException as e:
                    await resp.write(orjson.dumps({"type": "ERROR", "object": e.status()}) + b"\n")
                    break
                last_rev = max(last_rev, ev.revision)
                if ev.type == "BOOKMARK" and not bookmarks:
                    continue
                await resp.write(self._event_line(rr, ev, table, first_table))
                if table and ev.type != "BOOKMARK":
                    first_table = False
            if bookmarks and last_rev:
                await resp.write(
                    orjson.dumps({"type": "BOOKMARK", "object": bookmark(rr.rt, last_rev)}) + b"\n"
                )
        except ConnectionResetError:
            return resp  # the client went away: nothing left to say
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await iterator.aclose()  # type: ignore[attr-defined]
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp

    def _event_line(self, rr: ResourceRequest, ev: Event, table: bool, with_columns: bool) -> bytes:
        if ev.type == "BOOKMARK":
            return orjson.dumps({"type": "BOOKMARK", "object": ev.object}) + b"\n"
        if table:
            t = printers.build_table(rr.rt, [ev.object], resource_version=str(ev.revision))
            if not with_columns:
                t["columnDefinitions"] = []
            return orjson.dumps({"type": ev.type, "object": t}) + b"\n"
        return b'{"type":"' + ev.type.encode() + b'","object":' + self.hub.encoded(ev.object) + b"}\n"
