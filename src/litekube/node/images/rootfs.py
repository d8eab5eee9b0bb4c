"""A container's root filesystem: an overlayfs mount of the image's unpacked layers.

    <container_dir>/upper   the container's writes      (upperdir)
    <container_dir>/work    overlayfs scratch space     (workdir, same filesystem as upper)
    <container_dir>/rootfs  the mount point runc uses   (lowerdir = layers top-first)

Both calls are idempotent and safe after a crash: `mount_rootfs` leaves an existing overlay
mount at the target alone (an agent restarting next to a running container), and
`unmount_rootfs` only unmounts what /proc/self/mountinfo shows is mounted. The mount is a
`mount(2)` call through libc: no process per container.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from pathlib import Path

from litekube.node.images.info import ImageInfo

MNT_DETACH = 2
# The kernel reads mount options from one page; longer lowerdir lists must be shortened.
_MAX_OPTIONS = 4000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class RootfsError(OSError):
    pass


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 …).
    return field.encode().decode("unicode_escape") if "\\" in field else field


def mount_point_type(path: Path) -> str | None:
    """The filesystem type mounted exactly at `path`, or None when nothing is."""
    target = os.path.realpath(path)
    found = None
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split(" ")
            if _unescape(fields[4]) == target:
                found = line.partition(" - ")[2].split(" ")[0]  # the last mount there wins
    return found


def mount_rootfs(image: ImageInfo, container_dir: Path) -> Path:
    """Mount `image`'s layers with a fresh (or the existing) upper dir at `container_dir/rootfs`."""
    container_dir = Path(container_dir)
    rootfs = container_dir / "rootfs"
    upper, work = container_dir / "upper", container_dir / "work"
    for directory in (rootfs, upper, work):
        directory.mkdir(parents=True, exist_ok=True)
    if mount_point_type(rootfs) == "overlay":
        return rootfs
    lowers = [str(p) for p in reversed(image.layer_paths)]
    if not lowers:
        # An image without layers (FROM scratch, nothing added): overlayfs needs one lower dir.
        empty = container_dir / "empty"
        empty.mkdir(exist_ok=True)
        lowers = [str(empty)]
    for lower in lowers:
        if not os.path.isdir(lower):
            raise RootfsError(errno.ENOENT, f"layer of {image.name} is missing (re-pull the image)", lower)
    options = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}"
    if len(options) > _MAX_OPTIONS:
        raise RootfsError(errno.E2BIG, f"image {image.name} has too many layers for one overlay mount")
    if _libc.mount(b"overlay", str(rootfs).encode(), b"overlay", 0, options.encode()) != 0:
        error = ctypes.get_errno()
        raise RootfsError(error, f"mount overlay at {rootfs}: {os.strerror(error)}")
    return rootfs


def unmount_rootfs(container_dir: Path) -> None:
    """Unmount `container_dir/rootfs` if mounted (lazily when busy); the directories stay."""
    rootfs = Path(container_dir) / "rootfs"
    # A stacked mount (mounted twice) needs one unmount per layer of stacking; bound the loop.
    for _ in range(8):
        if not rootfs.exists() or mount_point_type(rootfs) is None:
            return
        if _libc.umount2(str(rootfs).encode(), 0) != 0:
            error = ctypes.get_errno()
            if error == errno.EINVAL:
                return  # not a mount point after all
            if error != errno.EBUSY or _libc.umount2(str(rootfs).encode(), MNT_DETACH) != 0:
                error = ctypes.get_errno()
                raise RootfsError(error, f"unmount {rootfs}: {os.strerror(error)}")
