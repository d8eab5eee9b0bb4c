"""KubeletBackend: the kubelet's view of containers mapped onto the streams' protocol."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.node.runtime.fake import FakeRuntime
from litekube.node.runtime.types import ContainerConfig, ContainerStatus
from litekube.node.runtime.types import ContainerState as RuntimeState
from litekube.node.streams.backend import ContainerRef, ContainerState, StreamFailure
from litekube.node.streams.kubelet_backend import PODS, KubeletBackend
from tests.streams.conftest import pod


class StubKubelet:
    def __init__(self) -> None:
        self.client = Client(FakeTransport())
        self.containers: dict[tuple[str, str, str], tuple[str, ContainerStatus]] = {}

    def find_container(
        self, namespace: str, pod_name: str, container_name: str
    ) -> tuple[str, ContainerStatus] | None:
        return self.containers.get((namespace, pod_name, container_name))

    def log_path(self, namespace: str, pod: str, container: str, previous: bool = False) -> Path | None:
        return Path(f"/logs/{namespace}/{pod}/{container}/{int(previous)}.log")


class Store:
    def __init__(self, *pods: dict[str, Any]) -> None:
        self.pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}

    def get_by_name(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.pods.get((namespace or "", name))


def _status(state: RuntimeState, reason: str = "") -> ContainerStatus:
    return ContainerStatus("litekube-1", state, reason=reason, finished_at=datetime.now(UTC))


async def test_states_reasons_and_ips() -> None:
    kubelet = StubKubelet()
    crashing = pod("crash")
    crashing["status"]["containerStatuses"] = [
        {"name": "main", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    ]
    host = pod("host")
    host["spec"]["hostNetwork"] = True
    host["status"]["podIP"] = "192.0.2.7"
    backend = KubeletBackend(kubelet, FakeRuntime(), Store(crashing, host))
    kubelet.containers[("default", "web", "main")] = ("litekube-1", _status(RuntimeState.RUNNING))
    kubelet.containers[("default", "done", "main")] = (
        "litekube-2",
        _status(RuntimeState.EXITED, "OOMKilled"),
    )
    assert backend.find_container("default", "web", "main") == ContainerRef(
        "litekube-1", ContainerState.RUNNING
    )
    assert backend.find_container("default", "done", "main") == ContainerRef(
        "litekube-2", ContainerState.EXITED, "OOMKilled"
    )
    assert backend.find_container("default", "crash", "main") == ContainerRef(
        None, ContainerState.WAITING, "CrashLoopBackOff"
    )
    assert backend.find_container("default", "elsewhere", "main") is None
    assert backend.pod_ip("default", "crash") == "127.0.0.1"  # the helper's pod IP
    assert backend.pod_ip("default", "host") == "127.0.0.1"  # hostNetwork: never the host's address
    assert backend.log_path("default", "web", "main", True) == Path("/logs/default/web/main/1.log")

    assert await backend.get_pod("default", "web") is None
    await kubelet.client.create(PODS, pod("web"), "default")
    found = await backend.get_pod("default", "web")
    assert found is not None and found["metadata"]["name"] == "web"


async def test_exec_goes_to_the_runtime_and_failures_become_stream_failures(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    runtime.exec_handler = lambda cid, argv, data: (3, b"out:" + data, b"err")
    config = ContainerConfig(
        "litekube-abc", "uid", "web", "default", "main", tmp_path, tmp_path, ["sleep"], tmp_path / "0.log"
    )
    await runtime.create(config)
    await runtime.start("litekube-abc")
    backend = KubeletBackend(StubKubelet(), runtime, Store())
    out: list[bytes] = []

    async def stdin() -> Any:
        yield b"hi"

    async def sink(data: bytes) -> None:
        out.append(data)

    assert await backend.exec("litekube-abc", ["cat"], False, stdin(), sink, sink, None) == 3
    assert out == [b"out:hi", b"err"]
    with pytest.raises(StreamFailure, match=r"not running|not found"):
        await backend.exec("litekube-nope", ["true"], False, None, None, None, None)
