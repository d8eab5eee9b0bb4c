"""tmpfs mounts for `emptyDir: {medium: Memory}` through libc (no process per mount)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def is_mounted(path: Path) -> bool:
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo") as mountinfo:
        return any(line.split(" ")[4] == target for line in mountinfo)


def mount_tmpfs(path: Path, size_bytes: int | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    options = "mode=1777" + (f",size={size_bytes}" if size_bytes else "")
    if _libc.mount(b"tmpfs", str(path).encode(), b"tmpfs", 0, options.encode()) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount tmpfs at {path}: {os.strerror(error)}")


def unmount(path: Path) -> None:
    for _ in range(4):  # stacked mounts need one unmount each; bounded
        if not is_mounted(path):
            return
        if _libc.umount2(str(path).encode(), MNT_DETACH) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"unmount {path}: {os.strerror(error)}")
