"""RuncRuntime: containers run by runc, each watched by its own conmon.

State on disk (`state_dir`), enough to carry on after an agent restart:
- `containers/<id>.json`: what we know about the container (pod, bundle, log path,
  labels, created/started times, conmon pid, and once seen exited its final status);
- `exits/<id>`: the exit code conmon writes when the container's process ends;
- `sockets/<id>/attach`: conmon's attach socket (via its symlink to the bundle);
- the bundle itself is the caller's `bundle_dir` (config.json, pid files, conmon's ctl FIFO);
- `sandboxes/<id>/{ipc,uts[,net]}`: a pod sandbox's pinned namespaces (sandbox.py).

Flow: `create` writes config.json and starts conmon, which runs `runc create` and reports
the pid; `start` does what `runc start` does, without its process (exec_fifo.py); `stop`
sends the signal with `runc kill` and waits for the exit file, escalating to SIGKILL;
`status` prefers the exit file and asks `runc state` otherwise; `remove` is `runc delete
--force` plus our files. Exit reasons: OOMKilled when the container's memory cgroup counted
an OOM kill (or conmon left its `oom` file).
Streams (`exec`, `attach`) live in `streams.py`; the pod sandbox (namespaces held by bind
mounts, no process) in `sandbox.py`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from litekube.node.runtime import cgroups, exec_fifo, sandbox, streams
from litekube.node.runtime.base import ContainerNotFound, Resizes, RuntimeFailure, Sink
from litekube.node.runtime.conmon import ConmonPaths, conmon_alive, conmon_argv, spawn_conmon
from litekube.node.runtime.spec import build_spec
from litekube.node.runtime.types import (
    ID_PREFIX,
    ContainerConfig,
    ContainerState,
    ContainerStatus,
    exit_reason,
    new_container_id,
)

POLL_INTERVAL = 0.02
# conmon writes the exit file a moment after runc reports "stopped"; wait this long for it.
EXIT_FILE_GRACE = 2.0
# Files we put in (or conmon creates in) a bundle; only these are removed with the container.
_BUNDLE_FILES = ("config.json", "pid", "conmon.pid", "conmon.log", "ctl", "winsz", "attach", "oom")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def run_command(*argv: str, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out, err


class RuncRuntime:
    def __init__(
        self,
        state_dir: Path,
        runc: str = "/usr/sbin/runc",
        conmon: str = "/usr/bin/conmon",
        log_size_max: int | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.runc = runc
        self.conmon = conmon
        self.log_size_max = log_size_max
        self.meta_dir = state_dir / "containers"
        self.exit_dir = state_dir / "exits"
        self.socket_dir = state_dir / "sockets"
        for directory in (self.meta_dir, self.exit_dir, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._swap = cgroups.swap_accounting()

    # -- metadata -------------------------------------------------------------------------

    def _meta_path(self, container_id: str) -> Path:
        if not container_id.startswith(ID_PREFIX) or "/" in container_id:
            raise ContainerNotFound(container_id)
        return self.meta_dir / f"{container_id}.json"

    def _load(self, container_id: str) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = orjson.loads(self._meta_path(container_id).read_bytes())
        except FileNotFoundError:
            raise ContainerNotFound(container_id) from None
        if meta["conmon_pid"] is None and not sandbox.is_pinned_sandbox(meta):
            meta["conmon_pid"] = _read_pid(Path(meta["bundle_dir"]) / "conmon.pid")
        return meta

    def _save(self, meta: dict[str, Any]) -> None:
        path = self._meta_path(meta["id"])
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(meta))
        tmp.replace(path)

    def _paths(self, meta: dict[str, Any]) -> ConmonPaths:
        bundle = Path(meta["bundle_dir"])
        return ConmonPaths(
            bundle=bundle,
            log_path=Path(meta["log_path"]),
            exit_dir=self.exit_dir,
            socket_dir=self.socket_dir,
            container_pidfile=bundle / "pid",
            conmon_pidfile=bundle / "conmon.pid",
            conmon_log=bundle / "conmon.log",
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def create(self, config: ContainerConfig) -> None:
        meta_path = self._meta_path(config.id)
        if meta_path.exists():
            raise RuntimeFailure(f"container {config.id} already exists")
        sandbox_pid, pinned = await self._sandbox_namespaces(config.sandbox_id)
        spec = build_spec(
            config, sandbox_pid=sandbox_pid, sandbox_namespaces=pinned, swap_accounting=self._swap
        )
        config.bundle_dir.mkdir(parents=True, exist_ok=True)
        config.log_path.parent.mkdir(parents=True, exist_ok=True)
        (config.bundle_dir / "config.json").write_bytes(orjson.dumps(spec, option=orjson.OPT_INDENT_2))
        meta: dict[str, Any] = {
            "id": config.id,
            "pod_uid": config.pod_uid,
            "pod_name": config.pod_name,
            "pod_namespace": config.pod_namespace,
            "name": config.name,
            "bundle_dir": str(config.bundle_dir),
            "log_path": str(config.log_path),
            "labels": config.labels,
            "cgroup": spec["linux"]["cgroupsPath"],
            "tty": config.tty,
            "stdin": config.stdin,
            "created_at": _now(),
            "started_at": None,
            "conmon_pid": None,
            "final": None,
        }
        self._save(meta)
        paths = self._paths(meta)
        argv = conmon_argv(
            self.conmon,
            self.runc,
            config.id,
            paths,
            tty=config.tty,
            stdin=config.stdin,
            stdin_once=config.stdin_once,
            log_size_max=self.log_size_max,
        )
        try:
            await spawn_conmon(argv, paths.conmon_log)
        except BaseException:
            await self.remove(config.id)
            raise
        # (conmon's pid is saved with the start time; until then `_load` reads its pid file)

    async def _sandbox_namespaces(self, sandbox_id: str | None) -> tuple[int | None, dict[str, str] | None]:
        """(pause container pid, pinned namespace paths) of the sandbox a container joins."""
        if not sandbox_id:
            return None, None
        try:
            meta = self._load(sandbox_id)
        except ContainerNotFound:
            raise RuntimeFailure(f"pod sandbox {sandbox_id} is not running") from None
        if sandbox.is_pinned_sandbox(meta):
            if not sandbox.sandbox_alive(meta):
                raise RuntimeFailure(f"pod sandbox {sandbox_id} is not running")
            return None, dict(meta["namespaces"])
        status = await self.status(sandbox_id)  # a pause container (earlier versions)
        if status.state != ContainerState.RUNNING or not status.pid:
            raise RuntimeFailure(f"pod sandbox {sandbox_id} is not running")
        return status.pid, None

    async def start(self, container_id: str) -> None:
        meta = self._load(container_id)
        # Taken before `runc start`: a process that exits at once must not finish before it started.
        started = _now()
        init_pid = _read_pid(Path(meta["bundle_dir"]) / "pid")
        if not await exec_fifo.start_created(container_id, init_pid):
            code, _, err = await run_command(self.runc, "start", container_id)
            if code != 0:
                raise RuntimeFailure(f"runc start {container_id}: {err.decode(errors='replace').strip()}")
        meta["started_at"] = started
        self._save(meta)

    async def stop(self, container_id: str, grace_period: float, sig: int = signal.SIGTERM) -> None:
        meta = self._load(container_id)
        if sandbox.is_pinned_sandbox(meta):
            return  # no process to stop: remove() unpins
        if await self._exited(meta):
            return
        await self._kill(container_id, sig)
        if await self._wait_exit(meta, grace_period):
            return
        await self._kill(container_id, signal.SIGKILL)
        if not await self._wait_exit(meta, 10.0):
            raise RuntimeFailure(f"container {container_id} did not exit after SIGKILL")

    async def _kill(self, container_id: str, sig: int) -> None:
        # Errors mean "not running any more", which the wait that follows notices.
        await run_command(self.runc, "kill", container_id, str(int(sig)))

    async def _exited(self, meta: dict[str, Any]) -> bool:
        if (self.exit_dir / meta["id"]).exists() or meta["final"]:
            return True
        if meta["started_at"] is None:
            # Created but never started: nothing runs yet, conmon waits for `runc start`.
            return False
        return not conmon_alive(meta["conmon_pid"], meta["id"])

    async def _wait_exit(self, meta: dict[str, Any], within: float) -> bool:
        deadline = time.monotonic() + within
        while True:
            if await self._exited(meta):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_INTERVAL)

    async def wait(self, container_id: str, within: float) -> ContainerStatus:
        """Wait (bounded) for the container to exit; returns its status either way."""
        await self._wait_exit(self._load(container_id), within)
        return await self.status(container_id)

    async def remove(self, container_id: str) -> None:
        try:
            meta = self._load(container_id)
        except ContainerNotFound:
            meta = None
        if meta is not None and sandbox.is_pinned_sandbox(meta):
            sandbox.unpin_sandbox(meta)
            self._meta_path(container_id).unlink(missing_ok=True)
            return
        await run_command(self.runc, "delete", "--force", container_id)
        if meta is not None:
            conmon_pid = meta["conmon_pid"]
            # conmon exits once its container is gone; give it a moment, then insist.
            for _ in range(100):
                if not conmon_alive(conmon_pid, container_id):
                    break
                await asyncio.sleep(POLL_INTERVAL)
            else:
                os.kill(conmon_pid, signal.SIGKILL)
            _remove_bundle_files(Path(meta["bundle_dir"]))
        (self.exit_dir / container_id).unlink(missing_ok=True)
        (self.socket_dir / container_id).unlink(missing_ok=True)
        if meta is not None:
            self._meta_path(container_id).unlink(missing_ok=True)

    # -- status ---------------------------------------------------------------------------

    async def _runc_state(self, container_id: str) -> dict[str, Any] | None:
        code, out, _ = await run_command(self.runc, "state", container_id)
        if code != 0:
            return None
        state: dict[str, Any] = orjson.loads(out)
        return state

    async def status(self, container_id: str) -> ContainerStatus:
        meta = self._load(container_id)
        base = ContainerStatus(
            id=container_id,
            state=ContainerState.UNKNOWN,
            created_at=_parse_time(meta["created_at"]),
            started_at=_parse_time(meta["started_at"]),
            labels=dict(meta["labels"]),
            log_path=Path(meta["log_path"]) if meta["log_path"] else None,
        )
        if sandbox.is_pinned_sandbox(meta):
            if sandbox.sandbox_alive(meta):
                base.state = ContainerState.RUNNING
            else:  # (after a reboot, say: the mounts are gone, and the namespaces with them)
                base.message = "the pod's namespaces are no longer pinned"
            return base
        if meta["final"]:
            return self._with_final(base, meta["final"])
        exit_file = self.exit_dir / container_id
        if meta["started_at"] and not exit_file.exists() and conmon_alive(meta["conmon_pid"], container_id):
            # Fast path (no `runc state` process): conmon lives exactly as long as the
            # container's process does, and writes the exit file before it goes.
            base.pid = _read_pid(Path(meta["bundle_dir"]) / "pid")
            base.state = ContainerState.RUNNING
            return base
        if not exit_file.exists():
            state = await self._runc_state(container_id)
            runc_status = state["status"] if state else None
            if runc_status == "created":
                base.state, base.pid = ContainerState.CREATED, state["pid"] if state else None
                return base
            if runc_status in ("running", "paused"):
                base.state, base.pid = ContainerState.RUNNING, state["pid"] if state else None
                return base
            # Stopped (or unknown to runc): conmon writes the exit file right after reaping.
            deadline = time.monotonic() + EXIT_FILE_GRACE
            while not exit_file.exists() and time.monotonic() < deadline:
                if not conmon_alive(meta["conmon_pid"], container_id):
                    break
                await asyncio.sleep(POLL_INTERVAL)
            if not exit_file.exists():
                base.message = "container state unknown: no runc state and no exit code"
                return base
        final = self._finalise(meta, exit_file)
        return self._with_final(base, final)

    def _finalise(self, meta: dict[str, Any], exit_file: Path) -> dict[str, Any]:
        """Record the exit once, while the cgroup (and its OOM counter) still exists."""
        text = exit_file.read_text().strip()
        exit_code = int(text) if text.lstrip("-").isdigit() else 255
        kills = cgroups.oom_kills(meta["cgroup"]) or 0
        oom = kills > 0 or (Path(meta["bundle_dir"]) / "oom").exists()
        finished = datetime.fromtimestamp(exit_file.stat().st_mtime, UTC).isoformat()
        final = {"exit_code": exit_code, "oom": oom, "finished_at": finished}
        meta["final"] = final
        self._save(meta)
        return final

    @staticmethod
    def _with_final(base: ContainerStatus, final: dict[str, Any]) -> ContainerStatus:
        base.state = ContainerState.EXITED
        base.exit_code = final["exit_code"]
        base.finished_at = _parse_time(final["finished_at"])
        # The exit file's mtime comes from the kernel's coarse clock (up to a tick behind).
        if (
            base.started_at is not None
            and base.finished_at is not None
            and base.finished_at < base.started_at
        ):
            base.finished_at = base.started_at
        base.reason = exit_reason(final["exit_code"], final["oom"])
        return base

    async def list(self) -> list[str]:
        return sorted(path.stem for path in self.meta_dir.glob(f"{ID_PREFIX}*.json"))

    async def adopt(self) -> builtins.list[ContainerStatus]:
        """Our containers as the machine has them now; conmon kept them going meanwhile."""
        statuses = []
        for container_id in await self.list():
            try:
                statuses.append(await self.status(container_id))
            except ContainerNotFound:
                continue  # removed concurrently
        return statuses

    # -- streams --------------------------------------------------------------------------

    async def exec(
        self,
        container_id: str,
        argv: builtins.list[str],
        tty: bool = False,
        stdin: AsyncIterable[bytes] | None = None,
        stdout: Sink | None = None,
        stderr: Sink | None = None,
        resize: Resizes | None = None,
    ) -> int:
        if (await self.status(container_id)).state != ContainerState.RUNNING:
            raise RuntimeFailure(f"container {container_id} is not running")
        return await streams.runc_exec(self.runc, container_id, argv, tty, stdin, stdout, stderr, resize)

    async def attach(
        self,
        container_id: str,
        stdin: AsyncIterable[bytes] | None = None,
        stdout: Sink | None = None,
        stderr: Sink | None = None,
        resize: Resizes | None = None,
    ) -> None:
        meta = self._load(container_id)
        await streams.conmon_attach(
            self.socket_dir / container_id / "attach",
            Path(meta["bundle_dir"]) / "ctl",
            stdin if meta["stdin"] else None,
            stdout,
            stderr,
            resize,
        )

    async def reopen_log(self, container_id: str) -> None:
        meta = self._load(container_id)
        await streams.write_ctl(Path(meta["bundle_dir"]) / "ctl", streams.CTL_REOPEN_LOG, 0, 0)

    # -- pod sandbox ----------------------------------------------------------------------

    async def create_sandbox(
        self, pod_uid: str, pod_name: str, pod_namespace: str, hostname: str, netns_path: str | None
    ) -> str:
        sandbox_id = new_container_id()
        meta = sandbox.pin_sandbox(
            self.state_dir, sandbox_id, pod_uid, pod_name, pod_namespace, hostname, netns_path
        )
        try:
            self._save(meta)
        except BaseException:
            sandbox.unpin_sandbox(meta)
            raise
        return sandbox_id

    async def remove_sandbox(self, sandbox_id: str) -> None:
        try:
            meta = self._load(sandbox_id)
        except ContainerNotFound:
            return
        await self.stop(sandbox_id, grace_period=2.0)
        await self.remove(sandbox_id)
        if not sandbox.is_pinned_sandbox(meta):
            # A pause container's log (always empty) lives in its bundle, which is ours alone.
            _remove_bundle_files(Path(meta["bundle_dir"]), Path(meta["log_path"]).name)
        cgroups.remove_cgroup(cgroups.pod_cgroup(meta["pod_uid"]))


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _remove_bundle_files(bundle: Path, *extra: str) -> None:
    for name in (*_BUNDLE_FILES, *extra):
        (bundle / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        bundle.rmdir()  # fails when the caller keeps other things there (a rootfs, logs)
