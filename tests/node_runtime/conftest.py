"""Fixtures for the runtime tests: a busybox rootfs, a RuncRuntime that cleans up after itself.

Real-container tests need root, runc, conmon and busybox-static; without them they skip.
Every container a test creates is stopped and removed in the fixture's teardown, pod
cgroups are removed, and at the end of the session we check that no `litekube-` container
or conmon process of ours is left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import pytest

from litekube.node.runtime import cgroups
from litekube.node.runtime.runc import RuncRuntime
from litekube.node.runtime.types import ContainerConfig, new_container_id

BUSYBOX = Path("/bin/busybox")


def real_runtime_available() -> str | None:
    """Why the real-container tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("/usr/sbin/runc", "/usr/bin/conmon", str(BUSYBOX)):
        if not Path(binary).exists():
            return f"{binary} is not installed"
    return None


def build_busybox_rootfs(root: Path) -> Path:
    """A rootfs of busybox-static: /bin/busybox and a relative symlink per applet."""
    (root / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout
    for applet in applets.split():
        if applet != "busybox":
            os.symlink("busybox", root / "bin" / applet)
    for directory in ("proc", "sys", "dev", "etc", "tmp", "root"):
        (root / directory).mkdir()
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nnobody:x:65534:\n")
    (root / "tmp").chmod(0o1777)
    return root


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = real_runtime_available()
    if reason:
        pytest.skip(reason)
    return build_busybox_rootfs(tmp_path_factory.mktemp("rootfs") / "busybox")


def _litekube_runc_ids(under: Path) -> set[str]:
    """Our containers in runc's list (other sessions may run their own meanwhile)."""
    out = subprocess.run(["runc", "list", "--format", "json"], capture_output=True, check=False).stdout
    entries = orjson.loads(out) if out.strip() else None
    return {
        entry["id"]
        for entry in entries or []
        if entry["id"].startswith("litekube-") and entry["bundle"].startswith(str(under))
    }


class Harness:
    """A RuncRuntime plus a factory for container configs with a private rootfs copy."""

    def __init__(self, runtime: RuncRuntime, work: Path, rootfs: Path) -> None:
        self.runtime = runtime
        self.work = work
        self.rootfs = rootfs
        self.pod_uid = str(uuid.uuid4())
        self.netns: list[str] = []

    def config(
        self, args: list[str], name: str = "main", writable_rootfs: bool = False, **kw: object
    ) -> ContainerConfig:
        container_id = new_container_id()
        rootfs = self.rootfs
        if writable_rootfs:
            rootfs = self.work / "rootfs" / container_id
            shutil.copytree(self.rootfs, rootfs, symlinks=True)
        bundle = self.work / "bundles" / container_id
        return ContainerConfig(
            id=container_id,
            pod_uid=self.pod_uid,
            pod_name="test-pod",
            pod_namespace="default",
            name=name,
            bundle_dir=bundle,
            rootfs=rootfs,
            args=args,
            log_path=self.work / "logs" / f"{name}-{container_id}.log",
            **kw,  # type: ignore[arg-type]
        )

    async def run(self, config: ContainerConfig) -> str:
        await self.runtime.create(config)
        await self.runtime.start(config.id)
        return config.id

    def add_netns(self) -> str:
        name = f"litekube-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.netns.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        return f"/var/run/netns/{name}"


@pytest.fixture
async def harness(busybox_rootfs: Path, tmp_path: Path) -> AsyncIterator[Harness]:
    runtime = RuncRuntime(tmp_path / "state")
    h = Harness(runtime, tmp_path, busybox_rootfs)
    try:
        yield h
    finally:
        for container_id in await runtime.list():
            try:
                await runtime.stop(container_id, grace_period=0.5)
            finally:
                await runtime.remove(container_id)
        cgroups.remove_cgroup(cgroups.pod_cgroup(h.pod_uid))
        for name in h.netns:
            subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.fixture(scope="session", autouse=True)
def no_leaks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    base = tmp_path_factory.getbasetemp()
    yield
    if real_runtime_available():
        return
    cgroups.remove_parent_if_empty()
    leaked = _litekube_runc_ids(base)
    conmons = subprocess.run(["pgrep", "-af", f"conmon.*{base}"], capture_output=True, text=True).stdout
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not leaked, f"containers left behind: {leaked}"
    assert not conmons.strip(), f"conmon processes left behind: {conmons}"
    assert "litekube-test-" not in netns, f"network namespaces left behind: {netns}"
