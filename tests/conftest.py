"""Shared fixtures: a real `litekube server` process and the real kubectl against it.

The server runs as a subprocess (as a user would run it) on a free port with its own data
directory; kubectl runs with its own HOME and cache directory so no state leaks between
runs. The server is stopped with SIGTERM at the end, and killed if it does not stop.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED = Path(os.environ.get("LITEKUBE_SEED", REPO.parent / "shared" / "seed"))
BIN = Path(sys.executable).parent
KUBECTL = str(BIN / "kubectl") if (BIN / "kubectl").exists() else "kubectl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    data_dir: Path
    port: int
    home: Path
    process: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)
    ingress_ports: tuple[int, int] = (80, 443)

    @property
    def kubeconfig(self) -> str:
        return str(self.data_dir / "kubeconfig")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(HOME=str(self.home), KUBECONFIG=self.kubeconfig, KUBECACHEDIR=str(self.home / "cache"))
        return env

    def start(self, timeout: float = 30.0) -> None:
        with open(self.data_dir.parent / f"server-{self.port}.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(BIN / "litekube"),
                    "server",
                    "--data-dir",
                    str(self.data_dir),
                    "--port",
                    str(self.port),
                    "--bind-address",
                    "127.0.0.1",
                    *self.extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"litekube server exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=2) as r:
                    if r.status == 200 and Path(self.kubeconfig).exists():
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"litekube server not ready after {timeout}s: {self.log_tail()}")

    def log_tail(self) -> str:
        p = self.data_dir.parent / f"server-{self.port}.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(10)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = False, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [KUBECTL, *args], input=input, capture_output=True, text=True, env=self.env(), timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def ok(self, *args: str, input: str | None = None) -> str:
        """kubectl that must succeed; returns stdout."""
        return self.kubectl(*args, input=input, check=True).stdout

    def api_client(self):  # type: ignore[no-untyped-def]
        """The official kubernetes Python client, configured from the kubeconfig."""
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=self.kubeconfig, client_configuration=cfg)
        return client.ApiClient(cfg)


def make_cluster(tmp: Path, *extra: str) -> Cluster:
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    c = Cluster(data_dir=tmp / "data", port=free_port(), home=home, extra_args=list(extra))
    return c


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One API server (no controllers, no nodes) for the session: objects are stored and shown."""
    c = make_cluster(tmp_path_factory.mktemp("cluster"), "--disable-agent", "--disable-controllers")
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Controllers, scheduler and three simulated nodes: the control plane end to end."""
    c = make_cluster(tmp_path_factory.mktemp("simcluster"), "--disable-agent", "--simulated-nodes", "3")
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A private server for tests that restart or kill it."""
    c = make_cluster(tmp_path, "--disable-agent")
    try:
        yield c
    finally:
        c.stop(signal.SIGKILL if c.process and c.process.poll() is None else signal.SIGTERM)
