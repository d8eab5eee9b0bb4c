"""Run the real kubectl on a pseudo-terminal, as a user typing `kubectl ... -it` would.

`-t` makes kubectl put the local terminal into raw mode and ask the server for a TTY, so
these commands are driven through `pty.fork()` rather than pipes.
"""

from __future__ import annotations

import os
import pty
import select
import time
from collections.abc import Callable

from tests.conftest import KUBECTL, Cluster


def run_on_tty(
    c: Cluster,
    *args: str,
    timeout: float = 60,
    respond: Callable[[bytes], bytes | None] | None = None,
) -> tuple[bytes, int]:
    """Run `kubectl args...` on a pty; return everything it printed and its exit code.

    `respond` sees the output so far whenever new output arrives and may return bytes to
    type (it is asked again on the next output, so it must remember what it already sent).
    The child is killed if it is still running after `timeout` seconds.
    """
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child only execs
        os.execve(KUBECTL, [KUBECTL, *args], c.env())
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if respond is not None:
                typed = respond(output)
                if typed:
                    os.write(fd, typed)
        else:
            os.kill(pid, 9)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return output, os.waitstatus_to_exitcode(status)
