"""`ImageService`: images for the kubelet and the `litekube images` CLI.

    ensure_image(ref, policy) ─▶ Never: present or ImageNotPresentError
                              ─▶ IfNotPresent: present → done, else pull
                              ─▶ Always: pull (cheap when nothing changed: a manifest GET)
    pull(ref) ─▶ RegistryClient.resolve (mirrors → registry; index → platform manifest; config)
              ─▶ download missing layer blobs, at most `max_downloads` at a time; a layer not
                 yet unpacked is unpacked meanwhile by a thread reading the chunks as they
                 arrive (feed.py), so unpacking overlaps the download
              ─▶ unpack the layers still missing in threads, from the stored blobs (each once:
                 layers are shared)
              ─▶ store the manifest/index/config blobs, then the record (last, so a record
                 always points at complete content)

Two callers pulling the same name share one pull. Errors are the classes in errors.py; a
pull failure reads like containerd's: `failed to pull and unpack image "<name>": <cause>`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import aiohttp
import orjson

from litekube.node.images import archive
from litekube.node.images.distribution import Platform, ProgressCallback, RegistryClient, Resolved
from litekube.node.images.errors import (
    ImageError,
    ImageNotPresentError,
    ImagePullError,
    InvalidImageNameError,
)
from litekube.node.images.feed import LayerFeed, LayerFeedAborted
from litekube.node.images.info import CONFIG_KEYS, ImageConfig, ImageInfo
from litekube.node.images.mirrors import MirrorsConfig, load_mirrors
from litekube.node.images.reference import Reference, parse_reference
from litekube.node.images.store import ContentStore

PULL_POLICIES = ("Always", "IfNotPresent", "Never")


class ImageService:
    def __init__(
        self,
        data_dir: Path,
        mirrors_path: Path | None = None,
        *,
        upstream: bool = True,
        target: Platform | None = None,
        max_downloads: int = 4,
    ) -> None:
        self.store = ContentStore(Path(data_dir) / "images")
        self.mirrors_path = mirrors_path if mirrors_path is not None else Path(data_dir) / "registries.yaml"
        self.upstream = upstream
        self.target = target or Platform.host()
        self.max_downloads = max_downloads
        self._session: aiohttp.ClientSession | None = None
        self._inflight: dict[str, asyncio.Future[ImageInfo]] = {}
        self._blob_locks: dict[str, asyncio.Lock] = {}
        # Separate from the blob locks: an uncompressed layer's digest is its diff_id.
        self._layer_locks: dict[str, asyncio.Lock] = {}
        self._unpack_pool: ThreadPoolExecutor | None = None
        self._mirrors: tuple[float, MirrorsConfig] | None = None

    async def __aenter__(self) -> ImageService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._unpack_pool is not None:
            self._unpack_pool.shutdown(wait=False)  # idle: every pull awaits its unpacks
            self._unpack_pool = None

    def _mirrors_config(self) -> MirrorsConfig:
        """The mirrors file, re-read when it changes (edits apply to the next pull)."""
        try:
            mtime = self.mirrors_path.stat().st_mtime
        except FileNotFoundError:
            mtime = -1.0
        if self._mirrors is None or self._mirrors[0] != mtime:
            self._mirrors = (mtime, load_mirrors(self.mirrors_path))
        return self._mirrors[1]

    def _client(self, pull_secrets: dict[str, tuple[str, str]] | None) -> RegistryClient:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60)
            self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        return RegistryClient(
            self._session, self._mirrors_config(), pull_secrets, upstream=self.upstream, target=self.target
        )

    # ----------------------------------------------------------------- queries

    def _info(self, ref: str, name: str, record: dict[str, Any]) -> ImageInfo:
        return ImageInfo(
            ref=ref,
            name=name,
            repository=record["repository"],
            digest=record["repo_digest"],
            id=record["id"],
            manifest_digest=record["manifest_digest"],
            config=record["config"],
            size=record["size"],
            diff_ids=tuple(record["diff_ids"]),
            layer_paths=tuple(self.store.layer_path(d) for d in record["diff_ids"]),
            created=record.get("created"),
        )

    def _lookup(self, parsed: Reference) -> tuple[str, dict[str, Any]] | None:
        record = self.store.get_record(str(parsed))
        if record is not None:
            return str(parsed), record
        if parsed.digest is not None:
            # `repo@sha256:…` matches any record of that repository with that index or manifest digest.
            for name, candidate in self.store.records().items():
                if candidate["repository"] == parsed.name and parsed.digest in (
                    candidate.get("index_digest"),
                    candidate["manifest_digest"],
                ):
                    return name, candidate
        return None

    def get(self, ref: str) -> ImageInfo | None:
        """The stored image for `ref`, if its record and every layer are present."""
        try:
            parsed = parse_reference(ref)
        except InvalidImageNameError:
            return None
        found = self._lookup(parsed)
        if found is None:
            return None
        name, record = found
        if not all(self.store.has_layer(d) for d in record["diff_ids"]):
            return None
        return self._info(ref, name, record)

    def list(self) -> builtins.list[ImageInfo]:
        return [self._info(name, name, record) for name, record in sorted(self.store.records().items())]

    def remove(self, ref: str) -> bool:
        """Forget `ref` and delete the content no other image uses; False if it was not there."""
        found = self._lookup(parse_reference(ref))
        if found is None:
            return False
        self.store.remove_record(found[0])
        self.store.garbage_collect()
        return True

    # ----------------------------------------------------------------- pulling

    async def ensure_image(
        self,
        ref: str,
        pull_policy: str,
        pull_secrets: dict[str, tuple[str, str]] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImageInfo:
        """The image for a container, pulled or not as `pull_policy` says."""
        parsed = parse_reference(ref)
        if pull_policy not in PULL_POLICIES:
            raise ImageError(f"unknown imagePullPolicy {pull_policy!r}")
        if pull_policy != "Always":
            present = self.get(ref)
            if present is not None:
                return present
            if pull_policy == "Never":
                # kubelet's message (pkg/kubelet/images/image_manager.go).
                raise ImageNotPresentError(
                    f'Container image "{ref}" is not present with pull policy of Never'
                )
        del parsed
        return await self.pull(ref, pull_secrets, progress)

    async def pull(
        self,
        ref: str,
        pull_secrets: dict[str, tuple[str, str]] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImageInfo:
        """Pull `ref` from its mirrors or registry; concurrent pulls of one name share the work."""
        parsed = parse_reference(ref)
        key = str(parsed)
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._pull(parsed, pull_secrets, progress))
            self._inflight[key] = future
            future.add_done_callback(lambda _: self._inflight.pop(key, None))
        info = await asyncio.shield(future)
        return ImageInfo(**{**info.__dict__, "ref": ref})

    async def _pull(
        self,
        ref: Reference,
        pull_secrets: dict[str, tuple[str, str]] | None,
        progress: ProgressCallback | None,
    ) -> ImageInfo:
        try:
            client = self._client(pull_secrets)
            resolved = await client.resolve(ref)
            layers = resolved.manifest.data.get("layers", [])
            await self._download(client, resolved, ref, layers, progress)
            return await self._commit(
                ref, resolved.manifest.body, resolved.config, resolved.index.body if resolved.index else None
            )
        except ImagePullError as error:
            raise type(error)(f'failed to pull and unpack image "{ref}": {error}') from error
        except (OSError, ValueError, KeyError) as error:
            raise ImagePullError(f'failed to pull and unpack image "{ref}": {error}') from error

    async def _download(
        self,
        client: RegistryClient,
        resolved: Resolved,
        ref: Reference,
        layers: builtins.list[dict[str, Any]],
        progress: ProgressCallback | None,
    ) -> None:
        semaphore = asyncio.Semaphore(self.max_downloads)
        diff_ids = _diff_ids(resolved.config, len(layers))

        async def one(descriptor: dict[str, Any], diff_id: str | None) -> None:
            digest = descriptor["digest"]
            lock = self._blob_locks.setdefault(digest, asyncio.Lock())
            async with semaphore, lock:
                path = self.store.blob_path(digest)
                if path.exists():
                    if progress is not None:
                        progress(digest, int(descriptor.get("size", 0)), int(descriptor.get("size", 0)))
                elif diff_id is None or self.store.has_layer(diff_id):
                    await client.fetch_blob(resolved, ref, descriptor, path, progress)
                else:
                    async with self._layer_locks.setdefault(diff_id, asyncio.Lock()):
                        await self._fetch_and_unpack(client, resolved, ref, descriptor, diff_id, progress)

        await _gather_all([one(d, i) for d, i in zip(layers, diff_ids, strict=True)])

    async def _fetch_and_unpack(
        self,
        client: RegistryClient,
        resolved: Resolved,
        ref: Reference,
        descriptor: dict[str, Any],
        diff_id: str,
        progress: ProgressCallback | None,
    ) -> None:
        """Download a layer blob while a thread unpacks the chunks already there."""
        digest = descriptor["digest"]
        path = self.store.blob_path(digest)
        if self.store.has_layer(diff_id):  # unpacked by another pull while we waited for the lock
            await client.fetch_blob(resolved, ref, descriptor, path, progress)
            return
        loop = asyncio.get_running_loop()
        feed = LayerFeed(loop)
        if self._unpack_pool is None:
            self._unpack_pool = ThreadPoolExecutor(self.max_downloads, thread_name_prefix="layer-unpack")

        def unpack() -> None:
            try:
                self.store.unpack_stream(feed, digest, diff_id)
            finally:
                feed.stop_reading()

        unpacking = loop.run_in_executor(self._unpack_pool, unpack)
        try:
            await client.fetch_blob(resolved, ref, descriptor, path, progress, feed)
        except BaseException:
            feed.abort("the download failed")
            with contextlib.suppress(Exception):
                await unpacking  # (its error is this one's echo)
            raise
        try:
            await unpacking
        except LayerFeedAborted:
            pass  # the download was retried from another endpoint: _commit unpacks the stored blob

    async def _commit(
        self, ref: Reference | str, manifest_body: bytes, config_body: bytes, index_body: bytes | None
    ) -> ImageInfo:
        """Unpack the layers of a manifest whose blobs are stored, then write the image record."""
        parsed = parse_reference(str(ref))
        manifest = orjson.loads(manifest_body)
        config = orjson.loads(config_body)
        layers = manifest.get("layers", [])
        diff_ids = list(config.get("rootfs", {}).get("diff_ids", []))
        if len(diff_ids) != len(layers):
            raise ImagePullError(f"image config lists {len(diff_ids)} layers, manifest {len(layers)}")

        async def unpack(descriptor: dict[str, Any], diff_id: str) -> None:
            async with self._layer_locks.setdefault(diff_id, asyncio.Lock()):
                if not self.store.has_layer(diff_id):
                    await asyncio.to_thread(self.store.unpack, descriptor["digest"], diff_id)

        await _gather_all([unpack(d, i) for d, i in zip(layers, diff_ids, strict=True)])
        manifest_digest = self.store.write_blob(manifest_body)
        config_digest = self.store.write_blob(config_body)
        index_digest = self.store.write_blob(index_body) if index_body is not None else None
        runtime = config.get("config") or {}
        image_config = cast(ImageConfig, {k: runtime[k] for k in CONFIG_KEYS if k in runtime})
        record = {
            "repository": parsed.name,
            "repo_digest": parsed.with_digest(index_digest or manifest_digest),
            "index_digest": index_digest,
            "manifest_digest": manifest_digest,
            "id": config_digest,
            "config": image_config,
            "size": len(config_body) + sum(int(d.get("size", 0)) for d in layers),
            "layers": [d["digest"] for d in layers],
            "diff_ids": diff_ids,
            "created": config.get("created"),
            "pulled_at": time.time(),
        }
        self.store.put_record(str(parsed), record)
        return self._info(str(parsed), str(parsed), record)

    # ----------------------------------------------------------------- import

    async def import_archive(self, path: Path, name: str | None = None) -> builtins.list[ImageInfo]:
        """Import a `docker save` or OCI-archive tarball (for machines without a registry)."""
        try:
            images = await asyncio.to_thread(archive.read_archive, Path(path), self.store, self.target, name)
        except (OSError, KeyError, ValueError) as error:
            raise ImageError(f"import of {path} failed: {error}") from error
        result = []
        for image in images:
            result.append(await self._commit(image.name, image.manifest, image.config, image.index))
        return result


def _diff_ids(config_body: bytes, count: int) -> builtins.list[str | None]:
    """The config's diff_id of each layer; all None when they do not pair up (_commit says why)."""
    config = orjson.loads(config_body)
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, builtins.list) or len(diff_ids) != count:
        return [None] * count
    return [d if isinstance(d, str) else None for d in diff_ids]


async def _gather_all(awaitables: builtins.list[Awaitable[None]]) -> None:
    """Run all; on the first failure cancel the rest (no download outlives a failed pull)."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
