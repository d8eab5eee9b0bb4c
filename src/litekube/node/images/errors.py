"""Errors of the image service, one class per reason the kubelet reports.

    ImageError
     ├── InvalidImageNameError   → waiting reason InvalidImageName
     ├── ImageNotPresentError    → waiting reason ErrImageNeverPull (pull policy Never)
     └── ImagePullError          → waiting reason ErrImagePull, then ImagePullBackOff
          ├── ImageNotFoundError      (manifest or blob 404)
          ├── ImageAuthError          (401/403 after trying the credentials we have)
          └── DigestMismatchError     (content does not hash to its digest)

`str(error)` is the message to show in events and `state.waiting.message`; it follows the
wording of containerd/kubelet (`failed to pull and unpack image "docker.io/library/nginx:bad": ...`).
"""

from __future__ import annotations


class ImageError(Exception):
    """Base class: something went wrong getting an image."""

    reason = "ErrImagePull"


class InvalidImageNameError(ImageError):
    reason = "InvalidImageName"


class ImageNotPresentError(ImageError):
    reason = "ErrImageNeverPull"


class ImagePullError(ImageError):
    reason = "ErrImagePull"


class ImageNotFoundError(ImagePullError):
    pass


class ImageAuthError(ImagePullError):
    pass


class DigestMismatchError(ImagePullError):
    pass


class UnsupportedLayerError(ImagePullError):
    """A layer media type or compression we cannot unpack (for example zstd without a decoder)."""
