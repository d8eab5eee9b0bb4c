"""Runtime benchmark: container create+start through RuncRuntime against a bare `runc run -d`.

Rows (name, figure, baseline, unit):
- p50 and p99 time from "create this container" to "its process is running", over
  ROUNDS busybox containers: RuncRuntime.create + start (config.json written, conmon spawned,
  `runc create` via conmon, then what `runc start` does, through runc's exec FIFO), against
  `runc run -d` of the same config.json in the same run (no monitor, no logs: the floor runc
  itself sets).
Both run the same `sh` waiting for SIGTERM from sandbox.py's small busybox rootfs. Needs
root, runc, conmon and busybox-static; returns no rows without them. Prints nothing; `run()`
returns the rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from litekube.node.runtime import ContainerConfig, Security, new_container_id
from litekube.node.runtime.cgroups import pod_cgroup, remove_cgroup, remove_parent_if_empty
from litekube.node.runtime.runc import RuncRuntime, run_command
from litekube.node.runtime.sandbox import PAUSE_ARGS, pause_rootfs
from litekube.node.runtime.spec import build_spec

ROUNDS = 20


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _config(work: Path, rootfs: Path, pod_uid: str) -> ContainerConfig:
    container_id = new_container_id()
    return ContainerConfig(
        id=container_id,
        pod_uid=pod_uid,
        pod_name="bench",
        pod_namespace="default",
        name="bench",
        bundle_dir=work / "bundles" / container_id,
        rootfs=rootfs,
        args=list(PAUSE_ARGS),
        log_path=work / "logs" / f"{container_id}.log",
        security=Security(readonly_rootfs=True),
    )


async def _ours(runtime: RuncRuntime, work: Path, rootfs: Path, pod_uid: str) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        config = _config(work, rootfs, pod_uid)
        started = time.perf_counter()
        await runtime.create(config)
        await runtime.start(config.id)
        samples.append(time.perf_counter() - started)
    for container_id in await runtime.list():
        await runtime.stop(container_id, grace_period=2)
        await runtime.remove(container_id)
    return samples


async def _bare(work: Path, rootfs: Path, pod_uid: str) -> list[float]:
    samples = []
    ids = []
    try:
        for _ in range(ROUNDS):
            config = _config(work, rootfs, pod_uid)
            config.bundle_dir.mkdir(parents=True)
            (config.bundle_dir / "config.json").write_bytes(orjson.dumps(build_spec(config)))
            ids.append(config.id)
            log = config.bundle_dir / "runc.log"
            started = time.perf_counter()
            # The detached container inherits runc's stdio: give it nothing we would wait on.
            process = await asyncio.create_subprocess_exec(
                "runc", "--log", str(log), "run", "-d", "-b", str(config.bundle_dir), config.id,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            code = await process.wait()
            samples.append(time.perf_counter() - started)
            if code != 0:
                raise RuntimeError(f"runc run failed: {log.read_text(errors='replace')}")
    finally:
        for container_id in ids:
            await run_command("runc", "delete", "--force", container_id)
    return samples


async def run() -> list[tuple[str, float, float, str]]:
    if os.geteuid() != 0 or not all(shutil.which(b) for b in ("runc", "conmon", "busybox")):
        return []
    with tempfile.TemporaryDirectory(prefix="litekube-runtime-bench-") as tmp:
        work = Path(tmp)
        pod_uid = str(uuid.uuid4())
        runtime = RuncRuntime(work / "state")
        rootfs = pause_rootfs(work / "state")
        try:
            ours = await _ours(runtime, work, rootfs, pod_uid)
            bare = await _bare(work, rootfs, pod_uid)
        finally:
            for container_id in await runtime.list():
                await runtime.remove(container_id)
            remove_cgroup(pod_cgroup(pod_uid))
            remove_parent_if_empty()
    ms = 1000.0
    return [
        ("container create+start p50 (RuncRuntime vs runc run -d)", statistics.median(ours) * ms,
         statistics.median(bare) * ms, "ms"),
        ("container create+start p99 (RuncRuntime vs runc run -d)", _percentile(ours, 0.99) * ms,
         _percentile(bare, 0.99) * ms, "ms"),
    ]  # fmt: skip


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
