"""Reading image tarballs: `docker save` (docker-archive) and OCI archives (`skopeo copy … oci-archive:`).

    tarball ─┬─ has oci-layout + index.json ─▶ OCI layout: copy blobs/sha256/* (verified),
             │      names from io.containerd.image.name or org.opencontainers.image.ref.name
             └─ has manifest.json ──────────▶ docker-archive: config + layer tars, names from
                    RepoTags; we write an OCI manifest for them (as containerd does)

Blobs go straight into the content store; the caller (`ImageService.import_archive`) then
unpacks the layers and writes the records, exactly as after a pull. An OCI ref.name that
is only a tag ("1.21") needs the `name` argument for its repository ("nginx" → nginx:1.21).
Docker 25+ writes both files; the OCI index is preferred then.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from litekube.node.images.distribution import INDEX_TYPES, OCI_MANIFEST, Platform
from litekube.node.images.errors import ImageError
from litekube.node.images.reference import parse_reference
from litekube.node.images.store import ContentStore

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")


@dataclass(frozen=True)
class ArchiveImage:
    name: str
    manifest: bytes
    config: bytes
    index: bytes | None


def _member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo | None:
    for candidate in (name, f"./{name}"):
        try:
            return tar.getmember(candidate)
        except KeyError:
            continue
    return None


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    member = _member(tar, name)
    source = tar.extractfile(member) if member is not None else None
    if source is None:
        raise ImageError(f"archive has no file {name!r}")
    return source.read()


def _image_name(annotations: dict[str, str], name: str | None) -> str:
    for key in NAME_ANNOTATIONS:
        value = annotations.get(key)
        if not value:
            continue
        if "/" in value or ":" in value or "@" in value:
            return str(parse_reference(value))
        if name is not None:  # a bare tag: the caller names the repository
            return str(parse_reference(f"{name.split(':')[0]}:{value}"))
    if name is not None:
        return str(parse_reference(name))
    raise ImageError(
        "archive does not name its image: pass a name (litekube images import --name nginx:1.21)"
    )


def _read_oci(
    tar: tarfile.TarFile, store: ContentStore, target: Platform, name: str | None
) -> list[ArchiveImage]:
    for member in tar.getmembers():
        path = member.name.removeprefix("./")
        if member.isfile() and path.startswith("blobs/sha256/"):
            digest = "sha256:" + path.rsplit("/", 1)[1]
            if not store.has_blob(digest):
                source = tar.extractfile(member)
                assert source is not None
                store.ingest(source, digest)
    index = orjson.loads(_read(tar, "index.json"))
    images = []
    for entry in index.get("manifests", []):
        body = store.read_blob(entry["digest"])
        annotations = dict(entry.get("annotations") or {})
        index_body = None
        if entry.get("mediaType") in INDEX_TYPES:
            index_body = body
            nested = orjson.loads(body)
            chosen = [m for m in nested.get("manifests", []) if target.matches(m.get("platform") or {})]
            if not chosen:
                raise ImageError(f"archive index {entry['digest']} has no image for {target}")
            body = store.read_blob(chosen[0]["digest"])
        manifest = orjson.loads(body)
        config = store.read_blob(manifest["config"]["digest"])
        images.append(ArchiveImage(_image_name(annotations, name), body, config, index_body))
    return images


def _read_docker(tar: tarfile.TarFile, store: ContentStore, name: str | None) -> list[ArchiveImage]:
    images = []
    for entry in orjson.loads(_read(tar, "manifest.json")):
        config = _read(tar, entry["Config"])
        config_digest = store.write_blob(config)
        layers: list[dict[str, Any]] = []
        for layer_name in entry["Layers"]:
            member = _member(tar, layer_name)
            source = tar.extractfile(member) if member is not None else None
            if source is None:
                raise ImageError(f"archive has no layer {layer_name!r}")
            digest, size = store.ingest(source)
            layers.append({"mediaType": OCI_LAYER_TAR, "digest": digest, "size": size})
        manifest = orjson.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": layers,
            }
        )
        tags = entry.get("RepoTags") or []
        if not tags:
            tags = [_image_name({}, name)]
        for tag in tags:
            images.append(ArchiveImage(str(parse_reference(tag)), manifest, config, None))
    return images


def read_archive(
    path: Path, store: ContentStore, target: Platform, name: str | None = None
) -> list[ArchiveImage]:
    """Copy an archive's blobs into `store` and describe its images (blocking: run in a thread)."""
    with tarfile.open(path, "r:*") as tar:
        if _member(tar, "oci-layout") is not None and _member(tar, "index.json") is not None:
            return _read_oci(tar, store, target, name)
        if _member(tar, "manifest.json") is not None:
            return _read_docker(tar, store, name)
    raise ImageError(f"{path} is neither a docker-archive (manifest.json) nor an OCI archive (oci-layout)")
