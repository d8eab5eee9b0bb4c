"""REST handlers for resource paths: routing, content negotiation, then the shared verb dispatch.

    /api/v1/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]
    /apis/{group}/{version}/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]

The path is parsed into a `ResourceRequest`; what only HTTP has stays here (streaming pod
subresources, watches written as chunked JSON lines, Tables when the Accept header asks for
one, the list's pre-encoded bytes); every other verb goes through `dispatch.dispatch`, the
same code the in-process transport calls. Errors are raised as ApiException and rendered by
the middleware in `http.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import yaml
from aiohttp import web

from litekube.api import printers
from litekube.apiserver import errors
from litekube.apiserver.dispatch import (
    STREAMING_SUBRESOURCES,
    ResourceRequest,
    dispatch,
    list_options_from,
    parse_path,
    write_options_from,
)
from litekube.apiserver.objects import JSON
from litekube.apiserver.registry import PATCH_APPLY, ListOptions, Registry, WriteOptions
from litekube.apiserver.watch import Event, WatchHub
from litekube.apiserver.watch_session import WatchSessions, open_watch

__all__ = ["ResourceHandlers", "ResourceRequest", "StreamHandler", "json_response", "parse_path", "read_body"]

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PROTOBUF = "application/vnd.kubernetes.protobuf"

# Streaming pod subresources (log, exec, attach, portforward) are served by whoever runs
# containers (the node agent); it registers a handler here.
StreamHandler = Callable[[web.Request, "ResourceRequest"], Awaitable[web.StreamResponse]]


def wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "as=Table" in accept and "g=meta.k8s.io" in accept


def write_options(request: web.Request) -> WriteOptions:
    return write_options_from(request.query)


def list_options(request: web.Request) -> ListOptions:
    return list_options_from(request.query)


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
        self.watches = WatchSessions()

    def shut_down(self) -> None:
        """End every watch (HTTP and in-process) now, not at its timeout."""
        self.shutting_down.set()
        self.watches.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rr = parse_path(request.path)
        if rr is None:
            raise errors.path_not_found()
        method = request.method
        if rr.subresource in STREAMING_SUBRESOURCES:
            handler = self.stream_handlers.get(rr.subresource)
            if handler is None:
                raise errors.bad_request(
                    f'{rr.subresource} is not available: no node agent serves pod "{rr.name}"'
                )
            return await handler(request, rr)
        if method == "GET" and rr.subresource is None and (rr.name is None or wants_table(request)):
            if rr.name is not None:
                obj = await self.registry.get(rr.rt, rr.namespace, rr.name)
                return self._render_one(request, rr, obj)
            if request.query.get("watch") in ("true", "1"):
                return await self._watch(request, rr)
            if wants_table(request):
                return await self._list_table(request, rr)

        async def body() -> Any:
            return await read_body(request)

        answer = await dispatch(self.registry, method, rr, request.query, body, request.content_type)
        if answer.encoded is not None:
            resp = web.Response(body=answer.encoded, status=answer.code, content_type=None)
            resp.headers["Content-Type"] = "application/json"
            return resp
        return json_response(answer.obj, answer.code, warnings=answer.warnings)

    # ------------------------------------------------------------------ tables
    async def _list_table(self, request: web.Request, rr: ResourceRequest) -> web.Response:
        listed = await self.registry.list_objects(rr.rt, rr.namespace, list_options(request))
        table = printers.build_table(
            rr.rt,
            listed["items"],
            include_object=request.query.get("includeObject", "Metadata"),
            resource_version=listed["metadata"]["resourceVersion"],
            continue_token=listed["metadata"].get("continue", ""),
        )
        return json_response(table, content_type=TABLE_CONTENT_TYPE)

    def _render_one(self, request: web.Request, rr: ResourceRequest, obj: JSON) -> web.Response:
        table = printers.build_table(
            rr.rt,
            [obj],
            include_object=request.query.get("includeObject", "Metadata"),
            resource_version=obj["metadata"].get("resourceVersion", ""),
        )
        return json_response(table, content_type=TABLE_CONTENT_TYPE)

    # ------------------------------------------------------------------ watch
    async def _watch(self, request: web.Request, rr: ResourceRequest) -> web.StreamResponse:
        session = open_watch(
            self.hub, rr.rt, rr.namespace, request.query, self.watches
        )  # 400 before streaming
        table = wants_table(request)
        resp = web.StreamResponse(status=200)
        resp.headers["Content-Type"] = TABLE_CONTENT_TYPE if table else "application/json"
        resp.enable_chunked_encoding()
        first_table = True
        await resp.prepare(request)
        try:
            async with contextlib.aclosing(session.events()) as events:  # type: ignore[type-var]
                async for ev in events:
                    await resp.write(self._event_line(rr, ev, table, first_table))
                    if table and ev.type not in ("BOOKMARK", "ERROR"):
                        first_table = False
        except ConnectionResetError:
            return resp  # the client went away: nothing left to say
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp

    def _event_line(self, rr: ResourceRequest, ev: Event, table: bool, with_columns: bool) -> bytes:
        if ev.type == "BOOKMARK" or ev.type == "ERROR":
            return orjson.dumps({"type": ev.type, "object": ev.object}) + b"\n"
        if table:
            obj = self.hub.event_object(ev)
            t = printers.build_table(rr.rt, [obj], resource_version=str(ev.revision))
            if not with_columns:
                t["columnDefinitions"] = []
            return orjson.dumps({"type": ev.type, "object": t}) + b"\n"
        return b'{"type":"' + ev.type.encode() + b'","object":' + self.hub.event_json(ev) + b"}\n"
