"""`FakeImageService`: the ImageService interface without registries or disks, for kubelet unit tests.

Images exist because a test said so (`add(ref, config=…)`) or because they are "pullable"
(`pullable(ref)`); `fail(ref, error)` makes a pull raise. It records every pull, so a test
can check that IfNotPresent did not pull twice.
"""

from __future__ import annotations

import builtins
import hashlib
from pathlib import Path

from litekube.node.images.distribution import ProgressCallback
from litekube.node.images.errors import ImageError, ImageNotFoundError, ImageNotPresentError, ImagePullError
from litekube.node.images.info import ImageConfig, ImageInfo
from litekube.node.images.reference import parse_reference
from litekube.node.images.service import PULL_POLICIES


def fake_image(ref: str, config: ImageConfig | None = None, layer_paths: tuple[Path, ...] = ()) -> ImageInfo:
    parsed = parse_reference(ref)
    digest = "sha256:" + hashlib.sha256(str(parsed).encode()).hexdigest()
    return ImageInfo(
        ref=ref,
        name=str(parsed),
        repository=parsed.name,
        digest=parsed.with_digest(digest),
        id="sha256:" + hashlib.sha256(digest.encode()).hexdigest(),
        manifest_digest=digest,
        config=config if config is not None else {"Cmd": ["sh"], "Env": ["PATH=/usr/bin:/bin"]},
        size=1024,
        diff_ids=tuple(f"sha256:{hashlib.sha256(str(p).encode()).hexdigest()}" for p in layer_paths),
        layer_paths=layer_paths,
    )


class FakeImageService:
    def __init__(self) -> None:
        self.present: dict[str, ImageInfo] = {}
        self.registry: dict[str, ImageInfo] = {}
        self.failures: dict[str, ImageError] = {}
        self.pulls: list[str] = []

    async def close(self) -> None:
        return None

    def add(self, ref: str, config: ImageConfig | None = None) -> ImageInfo:
        info = fake_image(ref, config)
        self.present[info.name] = info
        self.registry[info.name] = info
        return info

    def pullable(self, ref: str, config: ImageConfig | None = None) -> ImageInfo:
        info = fake_image(ref, config)
        self.registry[info.name] = info
        return info

    def fail(self, ref: str, error: ImageError | None = None) -> None:
        name = str(parse_reference(ref))
        self.failures[name] = error or ImagePullError(
            f'failed to pull and unpack image "{name}": fake failure'
        )

    def get(self, ref: str) -> ImageInfo | None:
        info = self.present.get(str(parse_reference(ref)))
        return ImageInfo(**{**info.__dict__, "ref": ref}) if info else None

    def list(self) -> builtins.list[ImageInfo]:
        return sorted(self.present.values(), key=lambda i: i.name)

    def remove(self, ref: str) -> bool:
        return self.present.pop(str(parse_reference(ref)), None) is not None

    async def pull(
        self,
        ref: str,
        pull_secrets: dict[str, tuple[str, str]] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImageInfo:
        name = str(parse_reference(ref))
        self.pulls.append(name)
        if name in self.failures:
            raise self.failures[name]
        info = self.registry.get(name)
        if info is None:
            raise ImageNotFoundError(
                f'failed to pull and unpack image "{name}": failed to resolve reference "{name}": {name}: not found'
            )
        self.present[name] = info
        return ImageInfo(**{**info.__dict__, "ref": ref})

    async def ensure_image(
        self,
        ref: str,
        pull_policy: str,
        pull_secrets: dict[str, tuple[str, str]] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImageInfo:
        parse_reference(ref)
        if pull_policy not in PULL_POLICIES:
            raise ImageError(f"unknown imagePullPolicy {pull_policy!r}")
        if pull_policy != "Always":
            present = self.get(ref)
            if present is not None:
                return present
            if pull_policy == "Never":
                raise ImageNotPresentError(
                    f'Container image "{ref}" is not present with pull policy of Never'
                )
        return await self.pull(ref, pull_secrets, progress)

    async def import_archive(self, path: Path, name: str | None = None) -> builtins.list[ImageInfo]:
        raise ImageError("FakeImageService cannot import archives")
