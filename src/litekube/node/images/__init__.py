"""Images for the node agent: pull (OCI distribution), store, unpack, overlay rootfs, import.

    ImageService.ensure_image(ref, policy) ─▶ distribution.RegistryClient (mirrors.py, auth)
                                           ─▶ store.ContentStore (blobs, unpack.py layers, index)
    rootfs.mount_rootfs(image, container_dir) ─▶ overlayfs of the unpacked layers

The kubelet uses `ImageService` (or `FakeImageService` in unit tests) and maps the error
classes to waiting reasons through their `reason` attribute.
"""

from litekube.node.images.distribution import Platform, ProgressCallback
from litekube.node.images.errors import (
    DigestMismatchError,
    ImageAuthError,
    ImageError,
    ImageNotFoundError,
    ImageNotPresentError,
    ImagePullError,
    InvalidImageNameError,
    UnsupportedLayerError,
)
from litekube.node.images.fake import FakeImageService
from litekube.node.images.info import ImageConfig, ImageInfo
from litekube.node.images.mirrors import parse_dockerconfigjson
from litekube.node.images.reference import default_pull_policy, normalize, parse_reference
from litekube.node.images.rootfs import mount_rootfs, unmount_rootfs
from litekube.node.images.service import ImageService

__all__ = [
    "DigestMismatchError",
    "FakeImageService",
    "ImageAuthError",
    "ImageConfig",
    "ImageError",
    "ImageInfo",
    "ImageNotFoundError",
    "ImageNotPresentError",
    "ImagePullError",
    "ImageService",
    "InvalidImageNameError",
    "Platform",
    "ProgressCallback",
    "UnsupportedLayerError",
    "default_pull_policy",
    "mount_rootfs",
    "normalize",
    "parse_dockerconfigjson",
    "parse_reference",
    "unmount_rootfs",
]
