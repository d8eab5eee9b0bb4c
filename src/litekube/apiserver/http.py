"""The aiohttp application: authentication, error rendering, and the non-resource endpoints.

request ─▶ auth middleware (x509 or bearer; 401) ─▶ status middleware (ApiException → Status)
        ─▶ /version /healthz /livez /readyz /api /apis /openapi/v3 … or ResourceHandlers
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from litekube.api import openapi
from litekube.apiserver import discovery, errors
from litekube.apiserver.auth import TokenAuthenticator, User, is_anonymous_path, user_from_peercert
from litekube.apiserver.rest import ResourceHandlers, json_response
from litekube.version import KUBERNETES_GIT_VERSION, KUBERNETES_MAJOR, KUBERNETES_MINOR

log = logging.getLogger(__name__)

USER_KEY = web.AppKey("user", User)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

VERSION_INFO = {
    "major": KUBERNETES_MAJOR,
    "minor": KUBERNETES_MINOR,
    "emulationMajor": KUBERNETES_MAJOR,
    "emulationMinor": KUBERNETES_MINOR,
    "minCompatibilityMajor": KUBERNETES_MAJOR,
    "minCompatibilityMinor": str(int(KUBERNETES_MINOR) - 1),
    "gitVersion": KUBERNETES_GIT_VERSION,
    "gitCommit": "litekube",
    "gitTreeState": "clean",
    "buildDate": "2026-11-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def build_app(
    handlers: ResourceHandlers, tokens: TokenAuthenticator, ready: Callable[[], bool]
) -> web.Application:
    @web.middleware
    async def status_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except errors.ApiException as e:
            return json_response(e.status(), e.code)
        except web.HTTPException:
            raise
        except Exception as e:  # last resort: never leak a traceback page to kubectl
            log.exception("internal error on %s %s", request.method, request.path)
            err = errors.internal(str(e))
            return json_response(err.status(), err.code)

    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_anonymous_path(request.path):
            user = None
            transport = request.transport
            if transport is not None:
                user = tokens.local_user(transport.get_extra_info("sockname")) or user_from_peercert(
                    transport.get_extra_info("peercert")
                )
            if user is None:
                user = await tokens.authenticate_bearer(request.headers.get("Authorization"))
            if user is None:
                err = errors.unauthorized()
                return json_response(err.status(), 401)
        return await handler(request)

    app = web.Application(middlewares=[auth_middleware, status_middleware], client_max_size=64 * 1024 * 1024)

    async def version(_: web.Request) -> web.Response:
        return json_response(VERSION_INFO)

    async def health(request: web.Request) -> web.Response:
        if request.path.startswith("/readyz") and not ready():
            return web.Response(text="[-]litekube not ready\nreadyz check failed", status=500)
        if "verbose" in request.query:
            name = request.path.strip("/").split("/")[0]
            return web.Response(text=f"[+]ping ok\n[+]etcd ok\n{name} check passed\n")
        return web.Response(text="ok")

    async def api_root(request: web.Request) -> web.Response:
        return _discovery(request, core=True)

    async def apis_root(request: web.Request) -> web.Response:
        return _discovery(request, core=False)

    async def api_v1(_: web.Request) -> web.Response:
        body = discovery.api_resource_list("", "v1")
        assert body is not None
        return _raw(body)

    async def apis_group(request: web.Request) -> web.Response:
        body = discovery.api_group(request.match_info["group"])
        if body is None:
            raise errors.path_not_found()
        return _raw(body)

    async def apis_group_version(request: web.Request) -> web.Response:
        body = discovery.api_resource_list(request.match_info["group"], request.match_info["version"])
        if body is None:
            raise errors.path_not_found()
        return _raw(body)

    async def openapi_index(_: web.Request) -> web.Response:
        return json_response(openapi.openapi_v3_index())

    async def openapi_doc(request: web.Request) -> web.Response:
        doc = openapi.openapi_v3_document(request.match_info["path"])
        if doc is None:
            raise errors.path_not_found()
        resp = _raw(doc)
        if request.query.get("hash"):
            resp.headers["Cache-Control"] = "public, immutable"
        return resp

    async def not_found(_: web.Request) -> web.Response:
        raise errors.path_not_found()

    app.router.add_get("/version", version)
    for p in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(p, health)
        app.router.add_get(p + "/{check:.*}", health)
    app.router.add_get("/api", api_root)
    app.router.add_get("/apis", apis_root)
    app.router.add_get("/api/v1", api_v1)
    app.router.add_get("/apis/{group}", apis_group)
    app.router.add_get("/apis/{group}/{version}", apis_group_version)
    app.router.add_get("/openapi/v3", openapi_index)
    app.router.add_get("/openapi/v3/{path:.+}", openapi_doc)
    app.router.add_get("/openapi/v2", not_found)
    app.router.add_route("*", "/api/{tail:.+}", handlers.handle)
    app.router.add_route("*", "/apis/{tail:.+}", handlers.handle)
    return app


def _raw(body: bytes, content_type: str = "application/json") -> web.Response:
    resp = web.Response(body=body, content_type=None)
    resp.headers["Content-Type"] = content_type
    return resp


def _discovery(request: web.Request, core: bool) -> web.Response:
    accept = request.headers.get("Accept", "")
    if "as=APIGroupDiscoveryList" in accept and "v=v2;" in accept.replace(" ", "") + ";":
        return _raw(discovery.aggregated(core), discovery.AGGREGATED_CONTENT_TYPE)
    if "as=APIGroupDiscoveryList" in accept and "v=v2beta1" in accept:
        body = orjson.loads(discovery.aggregated(core))
        body["apiVersion"] = "apidiscovery.k8s.io/v2beta1"
        return _raw(orjson.dumps(body), discovery.AGGREGATED_V2BETA1_CONTENT_TYPE)
    return _raw(discovery.api_versions() if core else discovery.api_group_list())
