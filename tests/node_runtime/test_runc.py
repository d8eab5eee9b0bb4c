"""Real containers: runc under conmon with a busybox rootfs (root only)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from litekube.node.runtime import ContainerNotFound, ContainerState, Resources, RuntimeFailure, Security, User
from litekube.node.runtime.logs import rotate_log
from litekube.node.runtime.runc import RuncRuntime
from tests.node_runtime.conftest import Harness

pytestmark = pytest.mark.root

CRI_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) (stdout|stderr) (F|P) (.*)$")


async def test_output_goes_to_cri_log_and_exit_code_zero(harness: Harness) -> None:
    config = harness.config(["sh", "-c", "echo hello; echo oops >&2"])
    await harness.run(config)
    status = await harness.runtime.wait(config.id, within=10)
    assert status.state == ContainerState.EXITED
    assert (status.exit_code, status.reason) == (0, "Completed")
    assert status.started_at is not None and status.finished_at is not None
    assert status.finished_at >= status.started_at
    lines = config.log_path.read_bytes().splitlines()
    parsed = [CRI_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert sorted((m.group(2), m.group(4)) for m in parsed if m) == [
        (b"stderr", b"oops"),
        (b"stdout", b"hello"),
    ]


async def test_created_then_running_then_exit_code_three(harness: Harness) -> None:
    config = harness.config(["sh", "-c", "read line; exit 3"], stdin=True, stdin_once=True)
    await harness.runtime.create(config)
    assert (await harness.runtime.status(config.id)).state == ContainerState.CREATED
    await harness.runtime.start(config.id)
    running = await harness.runtime.status(config.id)
    assert running.state == ContainerState.RUNNING and running.pid
    await harness.runtime.attach(config.id, stdin=_chunks(b"go\n"))
    status = await harness.runtime.wait(config.id, within=10)
    assert (status.state, status.exit_code, status.reason) == (ContainerState.EXITED, 3, "Error")


async def _chunks(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_memory_limit_oom_killed(harness: Harness) -> None:
    # Grow a shell variable without bound: the 16 MiB cgroup limit kills it.
    config = harness.config(
        ["sh", "-c", "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"],
        resources=Resources(memory_limit=16 * 1024 * 1024),
    )
    await harness.run(config)
    status = await harness.runtime.wait(config.id, within=20)
    assert (status.exit_code, status.reason) == (137, "OOMKilled")


async def test_stop_sigterm_is_honoured(harness: Harness) -> None:
    config = harness.config(["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 1 & wait $!; done"])
    await harness.run(config)
    await asyncio.sleep(0.2)  # let the shell install its trap
    started = time.monotonic()
    await harness.runtime.stop(config.id, grace_period=10)
    assert time.monotonic() - started < 5
    status = await harness.runtime.status(config.id)
    assert (status.exit_code, status.reason) == (42, "Error")


async def test_stop_kills_after_grace_period(harness: Harness) -> None:
    config = harness.config(["sh", "-c", "trap '' TERM; while :; do sleep 1; done"])
    await harness.run(config)
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await harness.runtime.stop(config.id, grace_period=1.0)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 5
    status = await harness.runtime.status(config.id)
    assert status.exit_code == 137 and status.reason == "Error"


async def test_remove_forgets_container_and_bundle(harness: Harness) -> None:
    config = harness.config(["sleep", "30"])
    await harness.run(config)
    await harness.runtime.remove(config.id)
    assert config.id not in await harness.runtime.list()
    assert not config.bundle_dir.exists()
    with pytest.raises(ContainerNotFound):
        await harness.runtime.status(config.id)
    await harness.runtime.remove(config.id)  # idempotent


async def test_readonly_rootfs_is_enforced(harness: Harness) -> None:
    config = harness.config(
        ["sh", "-c", "touch /newfile && echo wrote; touch /tmp/x 2>/dev/null; exit 0"],
        security=Security(readonly_rootfs=True),
    )
    await harness.run(config)
    status = await harness.runtime.wait(config.id, within=10)
    assert status.exit_code == 0
    log = config.log_path.read_text()
    assert "Read-only file system" in log and "wrote" not in log


async def test_drop_all_capabilities(harness: Harness) -> None:
    script = "chown 65534 /tmp/f && echo chown-ok; grep CapEff /proc/self/status"
    dropped = harness.config(
        ["sh", "-c", "touch /tmp/f; " + script],
        writable_rootfs=True,
        security=Security(capabilities_drop=("ALL",)),
    )
    default = harness.config(["sh", "-c", "touch /tmp/f; " + script], writable_rootfs=True)
    for config in (dropped, default):
        await harness.run(config)
        await harness.runtime.wait(config.id, within=10)
    dropped_log, default_log = dropped.log_path.read_text(), default.log_path.read_text()
    assert "Operation not permitted" in dropped_log and "chown-ok" not in dropped_log
    assert "CapEff:\t0000000000000000" in dropped_log
    assert "chown-ok" in default_log


async def test_runs_as_non_root_user(harness: Harness) -> None:
    config = harness.config(["sh", "-c", "id -u; id -g; id -G"], user=User(1000, 2000, (3000,)))
    await harness.run(config)
    await harness.runtime.wait(config.id, within=10)
    words = [line.split(" ", 3)[3] for line in config.log_path.read_text().splitlines()]
    assert words[:2] == ["1000", "2000"]
    assert "3000" in words[2].split()


async def test_two_containers_share_a_network_namespace(harness: Harness) -> None:
    netns = harness.add_netns()
    server = harness.config(["sh", "-c", "echo pong | nc -l -p 8080"], name="server", netns_path=netns)
    await harness.run(server)
    client_script = (
        "for i in 1 2 3 4 5 6 7 8 9 10; do nc 127.0.0.1 8080 </dev/null && exit 0; sleep 0.2; done; exit 1"
    )
    client = harness.config(["sh", "-c", client_script], name="client", netns_path=netns)
    await harness.run(client)
    status = await harness.runtime.wait(client.id, within=10)
    assert status.exit_code == 0
    assert "pong" in client.log_path.read_text()


async def test_sandbox_shares_hostname_and_ipc(harness: Harness) -> None:
    sandbox_id = await harness.runtime.create_sandbox(harness.pod_uid, "web", "default", "web-0", None)
    try:
        one = harness.config(
            ["sh", "-c", "hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/net"],
            sandbox_id=sandbox_id,
        )
        two = harness.config(
            ["sh", "-c", "hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/net"],
            sandbox_id=sandbox_id,
        )
        for config in (one, two):
            await harness.run(config)
            assert (await harness.runtime.wait(config.id, within=10)).exit_code == 0
        texts = [[line.split(" ", 3)[3] for line in c.log_path.read_text().splitlines()] for c in (one, two)]
        assert texts[0] == texts[1]
        assert texts[0][0] == "web-0"
        # Shared with each other through the sandbox, not with the host.
        assert texts[0][1] != os.readlink("/proc/self/ns/ipc")
        assert texts[0][2] != os.readlink("/proc/self/ns/net")
        sandbox_status = await harness.runtime.status(sandbox_id)
        assert sandbox_status.labels["io.kubernetes.pod.uid"] == harness.pod_uid
    finally:
        for config_id in await harness.runtime.list():
            if config_id != sandbox_id:
                await harness.runtime.remove(config_id)
        await harness.runtime.remove_sandbox(sandbox_id)
    assert await harness.runtime.list() == []


async def test_sandbox_is_pinned_namespaces_without_a_process(harness: Harness, tmp_path: Path) -> None:
    before = {pid for pid in os.listdir("/proc") if pid.isdigit()}
    sandbox_id = await harness.runtime.create_sandbox(harness.pod_uid, "web", "default", "web-0", None)
    pinned = tmp_path / "state" / "sandboxes" / sandbox_id
    assert sorted(p.name for p in pinned.iterdir()) == ["ipc", "net", "uts"]
    assert all(_mounted(pinned / kind) for kind in ("ipc", "net", "uts"))
    assert not [m for m in _processes_since(before) if sandbox_id in m]  # no pause, no conmon
    assert (await harness.runtime.status(sandbox_id)).state == ContainerState.RUNNING
    # A restarted agent finds it by its record, still holding the namespaces.
    fresh = RuncRuntime(tmp_path / "state")
    adopted = {s.id: s for s in await fresh.adopt()}
    assert adopted[sandbox_id].state == ContainerState.RUNNING
    assert adopted[sandbox_id].labels["io.litekube.sandbox"] == "true"
    config = harness.config(["hostname"], sandbox_id=sandbox_id)
    await harness.run(config)
    assert (await harness.runtime.wait(config.id, within=10)).exit_code == 0
    assert config.log_path.read_text().split(" ", 3)[3].strip() == "web-0"
    await harness.runtime.remove(config.id)
    await fresh.remove_sandbox(sandbox_id)
    assert not pinned.exists() and not [line for line in _mounts() if str(tmp_path) in line]
    assert await harness.runtime.list() == []
    with pytest.raises(RuntimeFailure, match="not running"):
        await harness.runtime.create(harness.config(["true"], sandbox_id=sandbox_id))


async def test_starting_twice_fails_like_runc_start(harness: Harness) -> None:
    config = harness.config(["sleep", "30"])
    await harness.run(config)
    state = await _runc_state(config.id)
    assert state["status"] == "running"  # the exec FIFO is gone, as after `runc start`
    with pytest.raises(RuntimeFailure):
        await harness.runtime.start(config.id)


def _mounts() -> list[str]:
    return Path("/proc/self/mounts").read_text().splitlines()


def _mounted(path: Path) -> bool:
    return any(line.split()[1] == str(path) for line in _mounts())


def _processes_since(before: set[str]) -> list[str]:
    found = []
    for pid in set(os.listdir("/proc")) - before:
        try:
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError):
            continue
    return found


async def _runc_state(container_id: str) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        "runc", "state", container_id, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await process.communicate()
    state: dict[str, object] = orjson.loads(out)
    return state


async def test_adopt_after_restart(harness: Harness, tmp_path: Path) -> None:
    config = harness.config(["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"])
    await harness.run(config)
    fresh = RuncRuntime(tmp_path / "state")
    adopted = await fresh.adopt()
    assert [(s.id, s.state) for s in adopted] == [(config.id, ContainerState.RUNNING)]
    assert await fresh.list() == [config.id]
    await asyncio.sleep(0.2)
    await fresh.stop(config.id, grace_period=5, sig=signal.SIGTERM)
    assert (await fresh.status(config.id)).exit_code == 0
    await fresh.remove(config.id)
    assert await harness.runtime.list() == []


AGENT = """
import asyncio, sys
from pathlib import Path
from litekube.node.runtime.logs import rotate_log
from litekube.node.runtime.runc import RuncRuntime
from litekube.node.runtime.types import ContainerConfig

async def main() -> None:
    runtime = RuncRuntime(Path(sys.argv[1]))
    config = ContainerConfig(
        id=sys.argv[2], pod_uid=sys.argv[3], pod_name="p", pod_namespace="default", name="main",
        bundle_dir=Path(sys.argv[4]), rootfs=Path(sys.argv[5]), log_path=Path(sys.argv[6]),
        args=["sh", "-c", "trap 'exit 0' TERM; while :; do echo tick; sleep 0.1 & wait $!; done"],
    )
    await runtime.create(config)
    await runtime.start(config.id)
    print("started", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_container_survives_agent_sigkill_and_is_adopted(harness: Harness, tmp_path: Path) -> None:
    config = harness.config(["unused"])
    agent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", AGENT, str(tmp_path / "state"), config.id, harness.pod_uid,
        str(config.bundle_dir), str(config.rootfs), str(config.log_path),
        stdout=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        assert agent.stdout is not None
        assert await asyncio.wait_for(agent.stdout.readline(), 15) == b"started\n"
    finally:
        # SIGKILL the agent's whole process group: conmon runs in its own session.
        os.killpg(agent.pid, signal.SIGKILL)
        await agent.wait()
    size = config.log_path.stat().st_size
    await asyncio.sleep(0.4)
    assert config.log_path.stat().st_size > size  # still running and still logging
    fresh = RuncRuntime(tmp_path / "state")
    adopted = await fresh.adopt()
    assert [(s.id, s.state) for s in adopted] == [(config.id, ContainerState.RUNNING)]
    await fresh.stop(config.id, grace_period=5)
    assert (await fresh.status(config.id)).exit_code == 0


async def test_log_rotation_with_conmon_reopen(harness: Harness) -> None:
    config = harness.config(["sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.05; done"])
    await harness.run(config)
    await asyncio.sleep(0.3)
    rotated = await rotate_log(config.log_path, 2, lambda: harness.runtime.reopen_log(config.id))
    assert rotated is not None
    await asyncio.sleep(0.3)
    await harness.runtime.stop(config.id, grace_period=1)
    old = [line.rsplit(" ", 1)[1] for line in rotated.read_text().splitlines()]
    new = [line.rsplit(" ", 1)[1] for line in config.log_path.read_text().splitlines()]
    assert old and new
    # Nothing lost or repeated across the rotation.
    assert [int(n) for n in old + new] == list(range(1, len(old) + len(new) + 1))


async def test_create_failure_reports_runc_error_and_leaves_nothing(harness: Harness) -> None:
    config = harness.config(["/no/such/binary"])
    with pytest.raises(RuntimeFailure, match=r"no such file or directory|not found"):
        await harness.runtime.create(config)
    assert await harness.runtime.list() == []
    assert not config.bundle_dir.exists()


async def test_stop_a_created_container(harness: Harness) -> None:
    config = harness.config(["sleep", "30"])
    await harness.runtime.create(config)
    await harness.runtime.stop(config.id, grace_period=2)
    status = await harness.runtime.status(config.id)
    assert status.state == ContainerState.EXITED
