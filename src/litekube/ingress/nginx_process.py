"""Running Debian's nginx as litekube's child: start, validate, reload, supervise, stop.

    start(text) ─► kill a leftover master of ours (pid file + cmdline check)
                ─► validate(text): write nginx.conf.candidate, `nginx -t -c candidate`
                ─► rename over nginx.conf ─► spawn `nginx -c nginx.conf -p <dir> -g 'daemon off;'`
                   in its own session (so its workers can be found and killed as one group)
    apply(text) ─► validate ─ invalid ─► (False, nginx's message); nginx.conf untouched, the running
                  │                       master keeps serving the last good configuration
                  └ valid ─► rename over nginx.conf ─► SIGHUP (graceful: old workers finish their
                             requests, listening sockets are never closed) ─► wait for new workers
    supervisor: the master exits while we did not stop it → log, wait (1 s doubling to 30 s),
                start it again with the last good nginx.conf
    stop()      SIGQUIT (graceful) ─► wait `stop_timeout` ─► SIGKILL the whole process group

Nothing here is shared with the system's nginx service: our own config, pid file, logs and temp
paths all live under `data_dir`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

NGINX_BINARY = "/usr/sbin/nginx"


class NginxError(Exception):
    pass


class Nginx(Protocol):
    """What the controller needs from nginx; `NginxProcess` is real, `FakeNginx` is for tests."""

    async def start(self, text: str) -> None: ...

    async def apply(self, text: str) -> tuple[bool, str]: ...

    async def stop(self) -> None: ...


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class NginxProcess:
    def __init__(
        self,
        data_dir: Path,
        binary: str = NGINX_BINARY,
        stop_timeout: float = 10.0,
        reload_wait: float = 2.0,
    ) -> None:
        self.data_dir = data_dir
        self.binary = binary
        self.stop_timeout = stop_timeout
        self.reload_wait = reload_wait
        self.conf_path = data_dir / "nginx.conf"
        self.candidate_path = data_dir / "nginx.conf.candidate"
        self.pid_path = data_dir / "nginx.pid"
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = False
        self.reloads = 0
        self.restarts = 0
        # /proc/<pid>/task/<pid>/children needs CONFIG_PROC_CHILDREN; without it we cannot see
        # the worker generations and only wait for the pid file
        self._see_workers = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    def prepare_directories(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("logs", "tmp"):
            (self.data_dir / sub).mkdir(exist_ok=True)
        (self.data_dir / "ssl").mkdir(exist_ok=True, mode=0o700)

    def _command(self, conf: Path, *extra: str) -> list[str]:
        return [self.binary, *extra, "-c", str(conf), "-p", f"{self.data_dir}/", "-g", "daemon off;"]

    async def validate(self, text: str) -> tuple[bool, str]:
        """`nginx -t` of `text` as a candidate file; (valid, nginx's messages)."""
        self.candidate_path.write_text(text)
        proc = await asyncio.create_subprocess_exec(
            *self._command(self.candidate_path, "-t", "-q"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        return proc.returncode == 0, out.decode(errors="replace").strip()

    async def start(self, text: str) -> None:
        if not os.access(self.binary, os.X_OK):
            raise NginxError(f"{self.binary} not found (Debian package nginx)")
        self.prepare_directories()
        await self._kill_leftover()
        ok, message = await self.validate(text)
        if not ok:
            raise NginxError(f"initial configuration rejected: {message}")
        os.replace(self.candidate_path, self.conf_path)
        self._stopping = False
        await self._spawn()
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(), name="nginx-supervisor")

    async def _spawn(self) -> None:
        stderr = open(self.data_dir / "logs" / "nginx.stderr.log", "ab")  # noqa: ASYNC230 (local file, handed to the child)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self._command(self.conf_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        finally:
            stderr.close()
        # ready once the master has written its pid file (it has bound the sockets by then)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if self._proc.returncode is not None:
                raise NginxError(
                    f"nginx exited at start with code {self._proc.returncode}; see {stderr.name}"
                )
            with contextlib.suppress(OSError, ValueError):
                if int(self.pid_path.read_text().strip()) == self._proc.pid and (
                    self._workers() or not self._see_workers
                ):
                    return
            await asyncio.sleep(0.005)
        raise NginxError("nginx did not start within 5 s")

    def _workers(self) -> set[int]:
        pid = self.pid
        if pid is None:
            return set()
        try:
            return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
        except (OSError, ValueError):
            return set()

    async def apply(self, text: str) -> tuple[bool, str]:
        """Validate, swap in and reload gracefully; (False, why) keeps the last good config serving."""
        async with self._lock:
            ok, message = await self.validate(text)
            if not ok:
                return False, message
            os.replace(self.candidate_path, self.conf_path)
            pid = self.pid
            if pid is None:  # between a crash and the supervisor's restart: it starts with this file
                return True, ""
            before = self._workers()
            os.kill(pid, signal.SIGHUP)
            self.reloads += 1
            # The new config is live once the old workers are gone: until they have taken the
            # master's QUIT they still accept connections with the old one. They leave as soon
            # as their in-flight requests finish; a long request only delays this, bounded.
            deadline = time.monotonic() + self.reload_wait
            while self._see_workers and time.monotonic() < deadline:
                current = self._workers()
                if current - before and not current & before:
                    break
                await asyncio.sleep(0.002)
            return True, ""

    async def _supervise(self) -> None:
        delay = 1.0
        while not self._stopping:
            assert self._proc is not None
            started = time.monotonic()
            code = await self._proc.wait()
            if self._stopping:
                return
            self._kill_group(self._proc.pid)  # workers of a killed master would linger otherwise
            if time.monotonic() - started > 60:
                delay = 1.0
            log.warning("nginx exited with code %s; restarting in %.0f s", code, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            try:
                async with self._lock:
                    await self._spawn()
                self.restarts += 1
            except (NginxError, OSError) as e:
                log.error("restarting nginx failed: %s", e)

    def _kill_group(self, pgid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    async def _kill_leftover(self) -> None:
        """A master of ours left by a crashed litekube (same nginx.conf in its command line)."""
        try:
            pid = int(self.pid_path.read_text().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:  # noqa: ASYNC230 (procfs: never blocks)
                cmdline = f.read().split(b"\0")
        except (OSError, ValueError):
            return
        if str(self.conf_path).encode() not in cmdline:
            return
        log.warning("killing leftover nginx %d of a previous run", pid)
        self._kill_group(pid)
        deadline = time.monotonic() + 5.0
        while _alive(pid) and time.monotonic() < deadline:  # noqa: ASYNC110 (not our child: poll)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGQUIT)
            try:
                await asyncio.wait_for(proc.wait(), self.stop_timeout)
            except TimeoutError:
                log.warning("nginx did not stop within %.0f s; killing it", self.stop_timeout)
        # the group outlives a master that was killed or timed out: make sure no worker stays
        self._kill_group(proc.pid)
        if proc.returncode is None:
            await proc.wait()
        deadline = time.monotonic() + 5.0
        while _group_alive(proc.pid) and time.monotonic() < deadline:  # noqa: ASYNC110 (workers: poll)
            await asyncio.sleep(0.01)
        self.pid_path.unlink(missing_ok=True)


class FakeNginx:
    """Records what would have been loaded; `reject` marks texts `nginx -t` would refuse."""

    def __init__(self, reject: str | None = None) -> None:
        self.reject = reject
        self.loaded: list[str] = []
        self.rejected: list[str] = []
        self.running = False

    @property
    def current(self) -> str | None:
        return self.loaded[-1] if self.loaded else None

    async def start(self, text: str) -> None:
        ok, message = await self.apply(text)
        if not ok:
            raise NginxError(message)
        self.running = True

    async def apply(self, text: str) -> tuple[bool, str]:
        if self.reject is not None and self.reject in text:
            self.rejected.append(text)
            return False, f'nginx: [emerg] invalid value "{self.reject}"'
        self.loaded.append(text)
        return True, ""

    async def stop(self) -> None:
        self.running = False
