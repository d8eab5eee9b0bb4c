"""Starting a created container without running a `runc start` process.

`runc create` leaves the container's init process blocked in open(2) of
`<runc root>/<id>/exec.fifo` for writing. `runc start` (runc 1.x, libcontainer's
`linuxContainer.exec`) does no more than this:

    open the FIFO for reading ─▶ init's open returns, it writes "0" and exec(2)s the
    container's process, which closes its end (O_CLOEXEC) ─▶ read until EOF ("0" read:
    started; nothing read: it was already started) ─▶ remove the FIFO (from then on
    `runc state` says running); while waiting, an init that died first is an error.

Doing it here saves a Go process per container start (a few ms of CPU on a busy node).
The FIFO is opened non-blocking and waited for on the event loop. Linux reports no hang-up
on a FIFO whose writer has not yet connected since our open, so readiness means "data" or
"the writer came and went". When the FIFO is not where runc keeps it (another runc root
or version), `start_created` returns False and the caller runs `runc start` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from litekube.node.runtime.base import RuntimeFailure
from litekube.node.runtime.conmon import readable

RUNC_ROOT = Path("/run/runc")  # runc's default --root for root
DEAD_CHECK = 0.1  # how often an init that never opens its end is looked at (runc: 100 ms)


def _dead(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


async def start_created(container_id: str, init_pid: int | None, within: float = 30.0) -> bool:
    """Let a created container's process run; False when runc's FIFO is not there."""
    fifo = RUNC_ROOT / container_id / "exec.fifo"
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise RuntimeFailure(f"starting {container_id}: {e}") from None
    data = b""
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if not await readable(fd, DEAD_CHECK):
                if _dead(init_pid):
                    # (it may have run and ended between two looks: whatever it wrote counts)
                    with contextlib.suppress(BlockingIOError):
                        data += os.read(fd, 64)
                    if not data:
                        raise RuntimeFailure(f"starting {container_id}: container process is already dead")
                    break
                if loop.time() > deadline:
                    raise RuntimeFailure(f"starting {container_id}: timed out waiting for its init")
                continue
            try:
                chunk = os.read(fd, 64)
            except BlockingIOError:
                continue
            if not chunk:
                break  # EOF: the writer exec'd (or closed without a word)
            data += chunk
    finally:
        os.close(fd)
    if not data:
        raise RuntimeFailure(f"starting {container_id}: cannot start an already running container")
    fifo.unlink(missing_ok=True)
    return True
