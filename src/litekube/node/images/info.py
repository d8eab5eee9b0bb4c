"""What the rest of the node agent learns about an image: `ImageInfo` and its `ImageConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict


class ImageConfig(TypedDict, total=False):
    """The runtime part of an OCI image config (`config` in the config blob), keys as in the spec."""

    Entrypoint: list[str] | None
    Cmd: list[str] | None
    Env: list[str]
    WorkingDir: str
    User: str
    ExposedPorts: dict[str, dict[str, Any]]
    Labels: dict[str, str]
    StopSignal: str
    Volumes: dict[str, dict[str, Any]]


CONFIG_KEYS = (
    "Entrypoint",
    "Cmd",
    "Env",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Labels",
    "StopSignal",
    "Volumes",
)


@dataclass(frozen=True)
class ImageInfo:
    """An image present in the store.

    `name` is what containerStatuses[].image shows (`docker.io/library/nginx:1.21`) and
    `digest` what containerStatuses[].imageID shows (`docker.io/library/nginx@sha256:…`,
    the digest the tag resolved to: the index's for multi-platform images).
    """

    ref: str  # as asked for: "nginx:1.21"
    name: str  # normalised: "docker.io/library/nginx:1.21"
    repository: str  # "docker.io/library/nginx"
    digest: str  # "docker.io/library/nginx@sha256:…"
    id: str  # config digest, the image ID `crictl images` shows
    manifest_digest: str  # the platform manifest's digest
    config: ImageConfig
    size: int  # bytes of content (config and compressed layers)
    diff_ids: tuple[str, ...]
    layer_paths: tuple[Path, ...] = field(default=())  # unpacked layers, bottom first (diff_ids order)
    created: str | None = None
