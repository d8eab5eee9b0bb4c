"""A server without a node plus `litekube agent` joining it: a second machine, on this one.

The server runs with `--disable-agent` (tests/conftest.py make_cluster); the agent gets its
own data directory (its registries.yaml sends docker.io to the local test registry), the
token from the server's tls/node-token, 127.0.0.1 as its node IP and a free stream port.
Needs root, and the node lock: `flock /tmp/litekube-node.lock pytest tests/e2e_agent`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BIN, Cluster, free_port, make_cluster
from tests.fixtures.images import LocalRegistry, local_registry  # noqa: F401

pytestmark = pytest.mark.root
NODE_NAME = "agent-e2e"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("runc", "conmon", "nft", "skopeo", "docker-registry"):
        if not any(shutil.which(tool) or os.path.exists(f"{d}/{tool}") for d in ("/usr/bin", "/usr/sbin")):
            return f"{tool} is not installed"
    return None


@dataclass
class Agent:
    data_dir: Path
    kubelet_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.data_dir.parent / "agent.log"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self, timeout: float = 120) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode


def agent_args(server: Cluster, data_dir: Path, *extra: str) -> list[str]:
    return [str(BIN / "litekube"), "agent", "--server", server.url, "--data-dir", str(data_dir), *extra]


def node_ready(c: Cluster) -> bool:
    r = c.kubectl("get", "node", NODE_NAME, "-o", "json")
    if r.returncode != 0:
        return False
    conditions = json.loads(r.stdout).get("status", {}).get("conditions", [])
    return any(x["type"] == "Ready" and x["status"] == "True" for x in conditions)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    c = make_cluster(tmp_path_factory.mktemp("agentserver"), "--disable-agent")
    c.start()
    try:
        yield c
    finally:
        c.stop(timeout=60)


@pytest.fixture(scope="package")
def agent(
    server: Cluster,
    tmp_path_factory: pytest.TempPathFactory,
    local_registry: LocalRegistry,  # noqa: F811
) -> Iterator[Agent]:
    a = Agent(tmp_path_factory.mktemp("agent") / "data", free_port())
    local_registry.mirrors_yaml(a.data_dir / "registries.yaml")
    token = server.data_dir / "tls" / "node-token"
    args = agent_args(
        server,
        a.data_dir,
        "--token-file",
        str(token),
        "--node-name",
        NODE_NAME,
        "--node-ip",
        "127.0.0.1",
        "--kubelet-port",
        str(a.kubelet_port),
        "--disable-ingress",
        "-v",
    )
    with open(a.log, "ab") as log:
        a.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not node_ready(server):
            if a.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the agent did not register a Ready node: {a.log_tail()}")
            time.sleep(0.3)
        yield a
    finally:
        a.stop()
