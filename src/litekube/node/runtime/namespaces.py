"""Namespaces held open by bind mounts instead of by a process (what CRI-O's pinns does).

A pod's sandbox is its shared IPC and UTS namespaces (and, without a CNI namespace, a
network one). A namespace lives as long as something references it: a process in it, an
open file descriptor, or a bind mount of its `/proc/<tid>/ns/<kind>` file. `pin()` makes
fresh namespaces and keeps them alive with bind mounts, so no pause process (conmon, `runc
create`, `runc start`) has to run per pod:

    a new thread ─▶ unshare(CLONE_NEWIPC | CLONE_NEWUTS [| CLONE_NEWNET])
                ─▶ sethostname(pod hostname)       (inside the new UTS namespace)
                ─▶ bind-mount /proc/self/task/<tid>/ns/<kind> onto <directory>/<kind>
                ─▶ the thread ends; the mounts keep the namespaces
    containers join them by path (OCI `linux.namespaces[].path`), as they join /run/netns/*
    `unpin()` unmounts (lazily) and removes the files; the namespaces go with the last user.

Why a thread of our own: unshare(2) of IPC, UTS and network namespaces works per thread in
a threaded process, and a thread that ends takes its namespaces' last task reference with
it. It must never be a pooled thread (asyncio.to_thread), which would go on running other
work inside the pod's namespaces. The mounts survive an agent restart, so adoption finds the
namespaces again by path; a reboot drops them (and every container with them).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from pathlib import Path

CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2
_FLAGS = {"ipc": CLONE_NEWIPC, "uts": CLONE_NEWUTS, "net": CLONE_NEWNET}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _pin_in_this_thread(directory: Path, kinds: tuple[str, ...], hostname: str) -> None:
    flags = 0
    for kind in kinds:
        flags |= _FLAGS[kind]
    _check(_libc.unshare(flags), "unshare")
    if hostname and "uts" in kinds:
        name = hostname.encode()
        _check(_libc.sethostname(name, len(name)), "sethostname")
    task = f"/proc/self/task/{threading.get_native_id()}/ns"
    for kind in kinds:
        target = directory / kind
        target.touch()
        _check(_libc.mount(f"{task}/{kind}".encode(), str(target).encode(), None, MS_BIND, None), "mount")


def pin(directory: Path, kinds: tuple[str, ...], hostname: str = "") -> dict[str, str]:
    """New namespaces of `kinds` ("ipc", "uts", "net") bind-mounted at `directory/<kind>`;
    returns kind → path. On failure nothing stays mounted.

    Synchronous on purpose: the thread's work is a few system calls (well under a
    millisecond), and joining it means no cancellation can leave a mount behind."""
    directory.mkdir(parents=True, exist_ok=True)
    errors: list[BaseException] = []

    def body() -> None:
        try:
            _pin_in_this_thread(directory, kinds, hostname)
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)

    thread = threading.Thread(target=body, name="pin-namespaces", daemon=True)
    thread.start()
    thread.join()
    if errors:
        unpin(directory, kinds)
        raise errors[0]
    return {kind: str(directory / kind) for kind in kinds}


def is_pinned(path: str | Path) -> bool:
    """Whether `path` is a namespace bind mount (not just the empty file under it)."""
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except OSError:
        return False


def unpin(directory: Path, kinds: tuple[str, ...] = tuple(_FLAGS)) -> None:
    """Unmount and remove what `pin` made; tolerates anything already gone."""
    for kind in kinds:
        target = directory / kind
        while is_pinned(target):  # (a path pinned twice has two mounts stacked)
            if _libc.umount2(str(target).encode(), MNT_DETACH) != 0:
                break
        target.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()
