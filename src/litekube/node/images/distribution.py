"""An async client for the OCI distribution API (what `docker pull` speaks), on aiohttp.

Flow of `resolve()` for `docker.io/library/nginx:1.21`:

    for each endpoint (mirrors in order, then the registry itself):
        GET <root>/library/nginx/manifests/1.21      Accept: OCI index/manifest, Docker list/v2
          401 + WWW-Authenticate: Bearer realm=…,service=…,scope=…
              → GET realm?service=…&scope=…  (with basic credentials when we have them) → token
              → retry with Authorization: Bearer <token>
          401 + WWW-Authenticate: Basic → retry with the credentials
        body is an index/list → pick linux/<host arch> → GET manifests/<that digest>
        GET blobs/<config digest>
    first endpoint that answers wins; a 404 or a connection error moves on to the next one.

Every manifest and blob is checked against its digest (sha256) before it is used or stored;
blobs stream to a temporary file beside their final place and are renamed when verified.
Tokens are cached per (host, scope) for the life of the client.
"""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from litekube.node.images.errors import (
    DigestMismatchError,
    ImageAuthError,
    ImageNotFoundError,
    ImagePullError,
)
from litekube.node.images.feed import LayerFeed
from litekube.node.images.mirrors import Endpoint, MirrorsConfig, registry_key
from litekube.node.images.reference import Reference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
MAX_MANIFEST_BYTES = 4 << 20
CHUNK = 1 << 18

# (layer digest, bytes done, bytes total); called as bytes arrive.
ProgressCallback = Callable[[str, int, int], None]

_MACHINE_TO_ARCH = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    @classmethod
    def host(cls) -> Platform:
        architecture, variant = _MACHINE_TO_ARCH.get(platform.machine(), (platform.machine(), None))
        return cls("linux", architecture, variant)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def matches(self, spec: dict[str, Any]) -> bool:
        if spec.get("os") != self.os or spec.get("architecture") != self.architecture:
            return False
        variant = spec.get("variant")
        # arm64 images usually omit "v8"; accept a missing variant for the default one.
        return variant is None or self.variant is None or variant == self.variant


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    body: bytes
    data: dict[str, Any]


@dataclass(frozen=True)
class Resolved:
    """An image as found in a registry: the platform manifest, its config, and where they came from."""

    endpoint: Endpoint
    manifest: Manifest
    config: bytes
    index: Manifest | None  # the index/list the manifest was picked from, if any

    @property
    def digest(self) -> str:
        """The digest a tag resolves to (the index's when there is one), as `docker pull` reports it."""
        return (self.index or self.manifest).digest


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify_digest(digest: str, data: bytes) -> None:
    algorithm, _, _ = digest.partition(":")
    if algorithm != "sha256":
        raise ImagePullError(f"unsupported digest algorithm {algorithm!r}")
    actual = sha256_digest(data)
    if actual != digest:
        raise DigestMismatchError(f"digest mismatch: expected {digest}, got {actual}")


_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…"` → ("bearer", {"realm": …, "service": …})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {k.lower(): v for k, v in _CHALLENGE_PARAM.findall(rest)}


class _NotFound(Exception):
    pass


class RegistryClient:
    """Fetches manifests and blobs for one pull (or many); holds the token cache."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        mirrors: MirrorsConfig | None = None,
        credentials: dict[str, tuple[str, str]] | None = None,
        upstream: bool = True,
        target: Platform | None = None,
    ) -> None:
        self.session = session
        self.mirrors = mirrors or MirrorsConfig()
        self.credentials = {registry_key(k): v for k, v in (credentials or {}).items()}
        self.upstream = upstream
        self.target = target or Platform.host()
        self._tokens: dict[tuple[str, str], str] = {}

    # ----------------------------------------------------------------- auth and requests

    def _basic_for(self, endpoint: Endpoint, registry: str) -> str | None:
        """The `Authorization: Basic …` value for an endpoint: pull secrets first, then the mirrors file."""
        creds = self.credentials.get(endpoint.host) or self.credentials.get(registry)
        if creds is None:
            config = self.mirrors.host_config(endpoint.host)
            if config is not None and config.username is not None:
                creds = (config.username, config.password or "")
        if creds is None:
            return None
        return "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()

    async def _fetch_token(self, params: dict[str, str], scope: str, basic: str | None) -> str:
        query = {"service": params["service"]} if "service" in params else {}
        query["scope"] = params.get("scope", scope)
        headers = {"Authorization": basic} if basic else {}
        async with self.session.get(params["realm"], params=query, headers=headers) as response:
            if response.status in (401, 403):
                raise ImageAuthError(
                    f"failed to fetch anonymous token: unexpected status from GET request to "
                    f"{params['realm']}: {response.status} {response.reason}"
                )
            if response.status != 200:
                raise ImagePullError(f"failed to fetch token from {params['realm']}: {response.status}")
            body = orjson.loads(await response.read())
        token = body.get("token") or body.get("access_token")
        if not token:
            raise ImageAuthError(f"token endpoint {params['realm']} returned no token")
        return str(token)

    async def _send(
        self, endpoint: Endpoint, registry: str, path: str, scope: str, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        """GET `path` below the endpoint's API root, answering one auth challenge; caller releases."""
        url = endpoint.api_root + path
        ssl = self.mirrors.ssl_for(endpoint.host) if url.startswith("https:") else True
        basic = self._basic_for(endpoint, registry)
        for attempt in range(2):
            request_headers = dict(headers or {})
            token = self._tokens.get((endpoint.host, scope))
            if token is not None:
                request_headers["Authorization"] = f"Bearer {token}"
            elif attempt == 1 and basic is not None:
                request_headers["Authorization"] = basic
            response = await self.session.get(url, headers=request_headers, ssl=ssl)
            if response.status != 401 or attempt == 1:
                if response.status in (401, 403):
                    response.release()
                    raise ImageAuthError(
                        "pull access denied, repository does not exist or may require "
                        f"authorization: {endpoint.host}: {response.status} {response.reason}"
                    )
                return response
            challenge = response.headers.get("WWW-Authenticate", "")
            response.release()
            scheme, params = parse_challenge(challenge)
            if scheme == "bearer" and "realm" in params:
                self._tokens[(endpoint.host, scope)] = await self._fetch_token(params, scope, basic)
            elif scheme != "basic" or basic is None:
                raise ImageAuthError(
                    f"pulling from host {endpoint.host} failed: 401 Unauthorized "
                    "(no credentials for this registry)"
                )
        raise AssertionError("unreachable")

    # ----------------------------------------------------------------- manifests

    async def _manifest(self, endpoint: Endpoint, ref: Reference, obj: str) -> Manifest:
        scope = f"repository:{ref.repository}:pull"
        response = await self._send(
            endpoint, ref.registry, f"/{ref.repository}/manifests/{obj}", scope, {"Accept": ACCEPT}
        )
        async with response:
            if response.status == 404:
                raise _NotFound(obj)
            if response.status != 200:
                raise ImagePullError(
                    f"unexpected status {response.status} {response.reason} "
                    f"fetching manifest {ref.name}:{obj} from {endpoint.host}"
                )
            body = await response.content.read(MAX_MANIFEST_BYTES + 1)
            if len(body) > MAX_MANIFEST_BYTES:
                raise ImagePullError(f"manifest {ref.name}:{obj} is larger than {MAX_MANIFEST_BYTES} bytes")
            header_digest = response.headers.get("Docker-Content-Digest")
        digest = sha256_digest(body)
        if obj.startswith("sha256:"):
            verify_digest(obj, body)
        elif header_digest and header_digest.startswith("sha256:") and header_digest != digest:
            raise DigestMismatchError(
                f"manifest digest mismatch: registry says {header_digest}, content is {digest}"
            )
        data = orjson.loads(body)
        media_type = data.get("mediaType") or response.headers.get("Content-Type", "").split(";")[0]
        if not media_type and "manifests" in data:
            media_type = OCI_INDEX
        elif not media_type and "layers" in data:
            media_type = OCI_MANIFEST
        if media_type not in INDEX_TYPES + MANIFEST_TYPES:
            raise ImagePullError(
                f"unsupported manifest media type {media_type!r} for {ref.name}:{obj} "
                "(Docker schema 1 images are not supported)"
            )
        return Manifest(digest=digest, media_type=media_type, body=body, data=data)

    def select_platform(self, index: Manifest, ref: Reference) -> dict[str, Any]:
        for entry in index.data.get("manifests", []):
            if entry.get("mediaType", OCI_MANIFEST) in MANIFEST_TYPES and self.target.matches(
                entry.get("platform") or {}
            ):
                return dict(entry)
        raise ImageNotFoundError(
            f"no match for platform in manifest {index.digest}: not found (wanted {self.target}, image {ref})"
        )

    async def resolve(self, ref: Reference) -> Resolved:
        """Find `ref`'s manifest for our platform and its config, trying each endpoint in order."""
        endpoints = self.mirrors.endpoints(ref.registry, upstream=self.upstream)
        if not endpoints:
            raise ImagePullError(
                f"no endpoint to pull {ref.name} from (no mirror configured and "
                "the upstream registry is disabled)"
            )
        errors: list[str] = []
        not_found = False
        for endpoint in endpoints:
            try:
                top = await self._manifest(endpoint, ref, ref.object)
                index = None
                if top.media_type in INDEX_TYPES:
                    index, entry = top, self.select_platform(top, ref)
                    top = await self._manifest(endpoint, ref, entry["digest"])
                    if top.media_type not in MANIFEST_TYPES:
                        raise ImagePullError(f"index entry {entry['digest']} is not an image manifest")
                config_digest = top.data["config"]["digest"]
                config_path = f"/{ref.repository}/blobs/{config_digest}"
                response = await self._send(
                    endpoint, ref.registry, config_path, f"repository:{ref.repository}:pull"
                )
                async with response:
                    if response.status == 404:
                        raise _NotFound(config_digest)
                    if response.status != 200:
                        raise ImagePullError(
                            f"unexpected status {response.status} fetching config {config_digest}"
                        )
                    config = await response.content.read(MAX_MANIFEST_BYTES)
                verify_digest(config_digest, config)
                return Resolved(endpoint=endpoint, manifest=top, config=config, index=index)
            except _NotFound:
                not_found = True
                errors.append(f"{endpoint.host}: not found")
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                errors.append(f"{endpoint.host}: {error or type(error).__name__}")
        if not_found:
            raise ImageNotFoundError(f'failed to resolve reference "{ref}": {ref}: not found')
        raise ImagePullError(f'failed to resolve reference "{ref}": ' + "; ".join(errors))

    # ----------------------------------------------------------------- blobs

    async def fetch_blob(
        self,
        resolved: Resolved,
        ref: Reference,
        descriptor: dict[str, Any],
        dest: Path,
        progress: ProgressCallback | None = None,
        feed: LayerFeed | None = None,
    ) -> None:
        """Download one blob to `dest`, verified; tries the resolving endpoint first, then the others.

        With a `feed`, the chunks also go to the thread unpacking the layer meanwhile; the feed
        is finished once the blob is verified and stored, or aborted when the first endpoint
        tried fails (a retry starts the stream over, so that unpack falls back to the stored blob).
        """
        endpoints = [resolved.endpoint] + [
            e for e in self.mirrors.endpoints(ref.registry, upstream=self.upstream) if e != resolved.endpoint
        ]
        last: Exception | None = None
        for endpoint in endpoints:
            try:
                await self._fetch_blob_from(endpoint, ref, descriptor, dest, progress, feed)
                return
            except (_NotFound, TimeoutError, aiohttp.ClientError, OSError) as error:
                if feed is not None:  # this stream is spoiled: the layer gets unpacked from the stored blob
                    feed.abort(f"{endpoint.host}: {error or type(error).__name__}")
                    feed = None
                if isinstance(error, _NotFound):
                    last = ImageNotFoundError(
                        f"failed to fetch blob {descriptor['digest']} of {ref}: not found"
                    )
                else:
                    last = ImagePullError(
                        f"failed to fetch blob {descriptor['digest']} of {ref} from "
                        f"{endpoint.host}: {error or type(error).__name__}"
                    )
        assert last is not None
        raise last

    async def _fetch_blob_from(
        self,
        endpoint: Endpoint,
        ref: Reference,
        descriptor: dict[str, Any],
        dest: Path,
        progress: ProgressCallback | None,
        feed: LayerFeed | None,
    ) -> None:
        digest = str(descriptor["digest"])
        total = int(descriptor.get("size", 0))
        response = await self._send(
            endpoint, ref.registry, f"/{ref.repository}/blobs/{digest}", f"repository:{ref.repository}:pull"
        )
        tmp = dest.with_name(f".tmp-{dest.name}-{os.getpid()}-{id(response)}")
        hasher = hashlib.sha256()
        done = 0
        try:
            async with response:
                if response.status == 404:
                    raise _NotFound(digest)
                if response.status != 200:
                    raise ImagePullError(f"unexpected status {response.status} fetching blob {digest}")
                # Plain writes land in the page cache; a thread hop per chunk would cost more than it saves.
                with open(tmp, "wb") as out:  # noqa: ASYNC230
                    async for chunk in response.content.iter_chunked(CHUNK):
                        hasher.update(chunk)
                        out.write(chunk)
                        if feed is not None:
                            feed.put(chunk)
                            await feed.room()
                        done += len(chunk)
                        if progress is not None:
                            progress(digest, done, total)
            actual = "sha256:" + hasher.hexdigest()
            if actual != digest:
                raise DigestMismatchError(
                    f'failed commit on ref "layer-{digest}": unexpected commit digest '
                    f"{actual}, expected {digest}: failed precondition"
                )
            if total and done != total:
                raise DigestMismatchError(f"blob {digest}: got {done} bytes, expected {total}")
            os.replace(tmp, dest)
            if feed is not None:
                feed.finish()
        finally:
            tmp.unlink(missing_ok=True)
