"""Starting conmon, the per-container monitor that outlives the agent.

`spawn_conmon` runs `conmon --api-version 1 ...` in a new session. conmon forks: the parent
exits at once, the child (now reparented, not in our process group) runs `runc create`,
reports the container's pid (or runc's error) as one JSON line on the sync pipe we pass in
`_OCI_SYNCPIPE`, then holds the container's stdio: it writes CRI log lines
(`<RFC3339Nano> stdout|stderr F|P <text>`) to the log path, serves the attach socket
(`<socket dir>/<id>/attach`, a symlink to the bundle), watches the `ctl` FIFO in the bundle
for resize/reopen-log messages, and at exit writes the exit code to `<exit dir>/<id>`.
A SIGKILLed agent therefore leaves containers, logs and exit codes intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import orjson

from litekube.node.runtime.base import RuntimeFailure

SYNC_TIMEOUT = 30.0


@dataclass(frozen=True)
class ConmonPaths:
    bundle: Path
    log_path: Path
    exit_dir: Path
    socket_dir: Path
    container_pidfile: Path
    conmon_pidfile: Path
    conmon_log: Path


def conmon_argv(
    conmon: str,
    runc: str,
    container_id: str,
    paths: ConmonPaths,
    *,
    tty: bool,
    stdin: bool,
    stdin_once: bool,
    log_size_max: int | None = None,
) -> list[str]:
    argv = [
        conmon,
        "--api-version", "1",
        "-c", container_id,
        "-u", container_id,
        "-n", container_id,
        "-r", runc,
        "-b", str(paths.bundle),
        "-p", str(paths.container_pidfile),
        "-P", str(paths.conmon_pidfile),
        "-l", f"k8s-file:{paths.log_path}",
        "--exit-dir", str(paths.exit_dir),
        "--socket-dir-path", str(paths.socket_dir),
        "--log-level", "error",
    ]  # fmt: skip
    if tty:
        argv.append("--terminal")
    if stdin:
        argv.append("--stdin")
        if not stdin_once:
            # Without it conmon closes the container's stdin when the first attach ends.
            argv.append("--leave-stdin-open")
    if log_size_max:
        argv += ["--log-size-max", str(log_size_max)]
    return argv


async def readable(fd: int, within: float | None = None) -> bool:
    """Wait on the event loop until `fd` can be read (False when `within` seconds pass first)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready, within)
    finally:
        loop.remove_reader(fd)
    return ready.done()


async def _read_sync(fd: int) -> bytes:
    """Read conmon's first sync message on the event loop (no worker thread held for the
    whole `runc create`: several pods starting at once would queue on the thread pool)."""
    os.set_blocking(fd, False)
    data = b""
    while not data.endswith(b"\n"):
        await readable(fd)
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            continue
        if not chunk:
            break
        data += chunk
    return data


def _popen(argv: list[str], conmon_log: Path, sync_fd: int) -> subprocess.Popen[bytes]:
    # A new session: conmon and the container must not share our process group, so signals
    # meant for the agent (Ctrl-C, a SIGKILL of the group) leave them alone.
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "_OCI_SYNCPIPE": str(sync_fd)}
    with open(conmon_log, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(sync_fd,),
            env=env,
            start_new_session=True,
            # conmon writes its `oom` marker into its working directory: keep it in the bundle.
            cwd=conmon_log.parent,
        )


async def spawn_conmon(argv: list[str], conmon_log: Path) -> int:
    """Run conmon and wait for `runc create`; returns the container's pid or raises."""
    read_fd, write_fd = os.pipe()
    try:
        process = _popen(argv, conmon_log, write_fd)
        os.close(write_fd)
        write_fd = -1
        # The parent conmon exits right after forking its monitor: reap it.
        await asyncio.to_thread(process.wait)
        try:
            async with asyncio.timeout(SYNC_TIMEOUT):
                data = await _read_sync(read_fd)
        except TimeoutError:
            raise RuntimeFailure("timed out waiting for conmon to create the container") from None
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    if not data:
        raise RuntimeFailure(f"conmon exited without reporting: {_tail(conmon_log)}")
    message = orjson.loads(data.splitlines()[0])
    pid = int(message.get("data", -1))
    if pid <= 0:
        raise RuntimeFailure(str(message.get("message") or _tail(conmon_log) or "runc create failed"))
    return pid


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_bytes()[-limit:].decode(errors="replace").strip()
    except OSError:
        return ""


def conmon_alive(pid: int | None, container_id: str) -> bool:
    """Whether `pid` is still the conmon watching `container_id` (pids get reused)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"conmon") and container_id.encode() in cmdline
