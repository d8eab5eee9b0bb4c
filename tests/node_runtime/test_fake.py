"""FakeRuntime: the state machine the kubelet's unit tests rely on."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from litekube.node.runtime import ContainerConfig, ContainerNotFound, ContainerState, Runtime, RuntimeFailure
from litekube.node.runtime.fake import Behaviour, FakeRuntime
from litekube.node.runtime.logs import read_logs
from litekube.node.runtime.runc import RuncRuntime


def _config(tmp_path: Path, name: str = "app", **kw: object) -> ContainerConfig:
    return ContainerConfig(
        id=f"litekube-{name}",
        pod_uid="uid",
        pod_name="pod",
        pod_namespace="default",
        name=name,
        bundle_dir=tmp_path / name,
        rootfs=tmp_path,
        args=["app"],
        log_path=tmp_path / f"{name}.log",
        **kw,  # type: ignore[arg-type]
    )


def test_both_runtimes_satisfy_the_protocol(tmp_path: Path) -> None:
    real: Runtime = RuncRuntime(tmp_path / "state")
    fake: Runtime = FakeRuntime()
    assert isinstance(real, Runtime) and isinstance(fake, Runtime)


async def test_lifecycle_and_exit_after_run_for(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    runtime.behave("app", Behaviour(exit_code=3, run_for=0.05, output=["hello"]))
    config = _config(tmp_path)
    await runtime.create(config)
    assert (await runtime.status(config.id)).state == ContainerState.CREATED
    await runtime.start(config.id)
    running = await runtime.status(config.id)
    assert running.state == ContainerState.RUNNING and running.pid
    await asyncio.sleep(0.1)
    status = await runtime.status(config.id)
    assert (status.state, status.exit_code, status.reason) == (ContainerState.EXITED, 3, "Error")
    assert b"".join([c async for c in read_logs(config.log_path)]) == b"hello\n"
    await runtime.remove(config.id)
    with pytest.raises(ContainerNotFound):
        await runtime.status(config.id)


async def test_oom_and_manual_finish(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    runtime.behave("hog", Behaviour(oom=True, run_for=0.0))
    hog = _config(tmp_path, "hog")
    await runtime.create(hog)
    await runtime.start(hog.id)
    await asyncio.sleep(0.01)
    assert ((await runtime.status(hog.id)).exit_code, (await runtime.status(hog.id)).reason) == (
        137,
        "OOMKilled",
    )
    app = _config(tmp_path)
    await runtime.create(app)
    await runtime.start(app.id)
    runtime.finish(app.id, 0)
    assert (await runtime.status(app.id)).reason == "Completed"


async def test_stop_honours_or_escalates(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    runtime.behave("stubborn", Behaviour(ignore_sigterm=True))
    polite, stubborn = _config(tmp_path), _config(tmp_path, "stubborn")
    for config in (polite, stubborn):
        await runtime.create(config)
        await runtime.start(config.id)
    await runtime.stop(polite.id, 5)
    assert (await runtime.status(polite.id)).exit_code == 143
    await runtime.stop(stubborn.id, 0.05)
    assert (await runtime.status(stubborn.id)).exit_code == 137
    assert runtime.signals[-2:] == [(stubborn.id, signal.SIGTERM), (stubborn.id, signal.SIGKILL)]


async def test_failures_exec_and_adopt(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    runtime.behave("broken", Behaviour(fail_create="no such image"))
    with pytest.raises(RuntimeFailure, match="no such image"):
        await runtime.create(_config(tmp_path, "broken"))
    config = _config(tmp_path)
    await runtime.create(config)
    with pytest.raises(RuntimeFailure):
        await runtime.exec(config.id, ["true"])
    await runtime.start(config.id)
    runtime.exec_handler = lambda cid, argv, data: (len(argv), data.upper(), b"")
    out: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        out.append(chunk)

    async def stdin() -> AsyncIterator[bytes]:
        yield b"abc"

    assert await runtime.exec(config.id, ["a", "b"], stdin=stdin(), stdout=sink) == 2
    assert out == [b"ABC"] and runtime.exec_calls == [(config.id, ["a", "b"])]
    sandbox = await runtime.create_sandbox("uid", "pod", "default", "pod", None)
    adopted = await runtime.adopt()
    assert sorted(s.id for s in adopted) == sorted([config.id, sandbox])
    await runtime.remove_sandbox(sandbox)
    assert await runtime.list() == [config.id]
