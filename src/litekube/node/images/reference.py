"""Image references, normalised the way docker and containerd do it.

    nginx                      → docker.io/library/nginx:latest
    nginx:1.21                 → docker.io/library/nginx:1.21
    fluent/fluent-bit:1.8      → docker.io/fluent/fluent-bit:1.8
    127.0.0.1:5000/app@sha256:…→ 127.0.0.1:5000/app@sha256:…  (no default tag with a digest)
    index.docker.io/x/y        → docker.io/x/y:latest

The first path component is a registry host when it contains "." or ":", is "localhost",
or has upper-case letters (docker's rule); otherwise the registry is docker.io, where a
single-component name lives under `library/`. Docker Hub's API endpoint is a different host
(registry-1.docker.io) from its name (docker.io): `api_host()` maps one to the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from litekube.node.images.errors import InvalidImageNameError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "docker.io"}

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")
_DOMAIN = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A fully qualified image reference: registry, repository path, and a tag and/or digest."""

    registry: str  # "docker.io", "127.0.0.1:5000"
    repository: str  # "library/nginx"
    tag: str | None = None
    digest: str | None = None  # "sha256:…"

    @property
    def name(self) -> str:
        """Registry and repository: `docker.io/library/nginx`."""
        return f"{self.registry}/{self.repository}"

    @property
    def object(self) -> str:
        """What to ask the registry for: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> str:
        """`docker.io/library/nginx@sha256:…`, the form kubelet reports as `imageID`."""
        return f"{self.name}@{digest}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def api_host(self) -> str:
        """The host serving the registry API for this name (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry


def _invalid(ref: str, why: str = "invalid reference format") -> InvalidImageNameError:
    # kubelet's wording for an unparsable image (pkg/kubelet/images: ErrInvalidImageName).
    return InvalidImageNameError(
        f'Failed to apply default image tag "{ref}": couldn\'t parse image name "{ref}": {why}'
    )


def parse_reference(ref: str) -> Reference:
    """Parse and normalise `ref`, adding docker.io, library/ and :latest as docker does."""
    text = ref.strip()
    if not text or text != ref or any(c.isspace() for c in text):
        raise _invalid(ref)
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise _invalid(ref)
    tag = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.match(tag):
            raise _invalid(ref)
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        registry, path = first, rest
        if not _DOMAIN.match(registry):
            raise _invalid(ref)
    else:
        registry, path = DOCKER_HUB, text
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not path:
        raise _invalid(ref)
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            why = "repository name must be lowercase" if component.lower() != component else None
            raise _invalid(ref, why or "invalid reference format")
    if len(registry) + 1 + len(path) > 255:
        raise _invalid(ref, "repository name must not be more than 255 characters")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry=registry, repository=path, tag=tag, digest=digest)


def normalize(ref: str) -> str:
    """The canonical string for `ref`: `nginx:1.21` → `docker.io/library/nginx:1.21`."""
    return str(parse_reference(ref))


def default_pull_policy(ref: str) -> str:
    """imagePullPolicy's default: Always for `:latest` or no tag and no digest, else IfNotPresent."""
    # Upstream (SetDefaults_Container) looks only at the tag, so `nginx:latest@sha256:…` is Always too.
    return "Always" if parse_reference(ref).tag == "latest" else "IfNotPresent"
