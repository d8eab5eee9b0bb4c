"""A tiny OCI registry on 127.0.0.1 (aiohttp) serving OCI layouts, with switchable auth and faults.

    GET /v2/                         200 (or the auth challenge)
    GET /v2/<repo>/manifests/<ref>   from the layout's index.json (tag) or blobs (digest)
    GET /v2/<repo>/blobs/<digest>    the blob; a corrupted copy when `corrupt` names it, 404 when
                                     `missing_blobs` does, half of it until `release` for `held_blobs`
    GET /token?service=&scope=       the bearer-token endpoint (auth="bearer")

auth: None (open), "basic" (user/password), "bearer" (anonymous or basic-authenticated
token, as Docker Hub does). `requests` records (path, Authorization) for assertions.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

USER, PASSWORD = "alice", "s3cret"


@dataclass
class FakeRegistry:
    layouts: dict[str, Path]  # repository ("library/busybox") → OCI layout
    auth: str | None = None
    require_credentials: bool = False  # bearer: the token endpoint wants basic credentials
    corrupt: set[str] = field(default_factory=set)  # digests served with a flipped byte
    missing_blobs: set[str] = field(default_factory=set)  # blob digests answered with 404
    held_blobs: set[str] = field(default_factory=set)  # half sent, the rest when `release` is set
    release: asyncio.Event = field(default_factory=asyncio.Event)
    wrong_manifest_digest_header: bool = False
    requests: list[tuple[str, str]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    server: TestServer | None = None

    @property
    def host_port(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    def mirrors_yaml(self, path: Path, registry: str = "docker.io") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'mirrors:\n  "{registry}":\n    endpoint: ["{self.url}"]\n')
        return path

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/token", self._token)
        app.router.add_get("/v2/", self._base)
        app.router.add_get(r"/v2/{repo:.+}/manifests/{ref}", self._manifest)
        app.router.add_get(r"/v2/{repo:.+}/blobs/{digest}", self._blob)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        self.release.set()
        if self.server is not None:
            await self.server.close()

    def _basic_ok(self, header: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return header == expected

    def _check(self, request: web.Request, scope: str) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        self.requests.append((request.path, header))
        if self.auth == "basic" and not self._basic_ok(header):
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="fake"'})
        if self.auth == "bearer" and header.removeprefix("Bearer ") not in self.tokens:
            challenge = f'Bearer realm="{self.url}/token",service="fake-registry",scope="{scope}"'
            return web.json_response(
                {"errors": [{"code": "UNAUTHORIZED"}]}, status=401, headers={"WWW-Authenticate": challenge}
            )
        return None

    async def _token(self, request: web.Request) -> web.Response:
        self.requests.append((request.path_qs, request.headers.get("Authorization", "")))
        if request.query.get("service") != "fake-registry" or not request.query.get("scope"):
            return web.Response(status=400)
        if self.require_credentials and not self._basic_ok(request.headers.get("Authorization", "")):
            return web.Response(status=401)
        token = secrets.token_hex(8)
        self.tokens.add(token)
        return web.json_response({"token": token, "expires_in": 300})

    async def _base(self, request: web.Request) -> web.Response:
        return self._check(request, "") or web.json_response({})

    def _layout(self, repo: str) -> Path | None:
        return self.layouts.get(repo)

    async def _manifest(self, request: web.Request) -> web.Response:
        repo, ref = request.match_info["repo"], request.match_info["ref"]
        denied = self._check(request, f"repository:{repo}:pull")
        if denied:
            return denied
        layout = self._layout(repo)
        if layout is None:
            return web.Response(status=404)
        if not ref.startswith("sha256:"):
            index = json.loads((layout / "index.json").read_text())
            matches = [
                m
                for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref
            ]
            if not matches:
                return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN"}]}, status=404)
            ref = matches[0]["digest"]
        path = layout / "blobs" / "sha256" / ref.split(":")[1]
        if not path.exists():
            return web.Response(status=404)
        body = path.read_bytes()
        media_type = json.loads(body).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
        digest = "sha256:" + "0" * 64 if self.wrong_manifest_digest_header else ref
        if ref in self.corrupt:
            body = body.replace(b"schemaVersion", b"schemaversion")
        return web.Response(body=body, content_type=media_type, headers={"Docker-Content-Digest": digest})

    async def _blob(self, request: web.Request) -> web.StreamResponse:
        repo, digest = request.match_info["repo"], request.match_info["digest"]
        denied = self._check(request, f"repository:{repo}:pull")
        if denied:
            return denied
        layout = self._layout(repo)
        path = layout / "blobs" / "sha256" / digest.split(":")[1] if layout else None
        if path is None or not path.exists() or digest in self.missing_blobs:
            return web.Response(status=404)
        body = bytearray(path.read_bytes())
        if digest in self.corrupt:
            body[len(body) // 2] ^= 0xFF
        if digest in self.held_blobs:
            response = web.StreamResponse(headers={"Content-Length": str(len(body))})
            await response.prepare(request)
            await response.write(bytes(body[: len(body) // 2]))
            await self.release.wait()
            await response.write(bytes(body[len(body) // 2 :]))
            return response
        return web.Response(body=bytes(body), content_type="application/octet-stream")
