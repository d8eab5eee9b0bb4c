"""`litekube server --storage etcd://...` end to end: the seed's Deployment through the real
kubectl, a SIGKILL in the middle of writes, a restart on the same etcd, and a watch that
resumes from a resourceVersion seen before the kill (served from etcd's history)."""

from __future__ import annotations

import json
import signal
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEED, Cluster, make_cluster
from tests.e2e.test_controllers import _pods, _ready, _wait
from tests.e2e.test_durability import _post
from tests.storage_etcd.etcd_server import running_etcd

pytestmark = pytest.mark.e2e

DEPLOYMENT = SEED / "manifests" / "03-deployment-web-app-deployment.yaml"


@pytest.fixture
def etcd_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_etcd(tmp_path / "etcd") as url:
        endpoint = url.removeprefix("http://")
        c = make_cluster(
            tmp_path, "--storage", f"etcd://{endpoint}", "--disable-agent", "--simulated-nodes", "1"
        )
        try:
            yield c
        finally:
            c.stop(signal.SIGKILL if c.process and c.process.poll() is None else signal.SIGTERM)


def _ready_pods(c: Cluster) -> list[dict]:
    return [p for p in _pods(c, "default", "app=web-app") if _ready(p)]


def _write_until_killed(c: Cluster, acknowledged: list[str]) -> None:
    """8 writers create ConfigMaps; the server is SIGKILLed once 100 were acknowledged."""
    ctx = ssl.create_default_context(cafile=str(c.data_dir / "tls" / "ca.crt"))
    lock = threading.Lock()
    stop = threading.Event()

    def writer(index: int) -> None:
        for n in range(200):
            if stop.is_set():
                return
            name = f"w{index}-{n}"
            if _post(c, ctx, name):
                with lock:
                    acknowledged.append(name)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    _wait(
        lambda: len(acknowledged) >= 100 or not any(t.is_alive() for t in threads), timeout=60, interval=0.02
    )
    c.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(30)


def test_deployment_and_writes_survive_a_sigkill_on_etcd(etcd_cluster: Cluster) -> None:
    from kubernetes import client, watch

    c = etcd_cluster
    c.start()
    c.ok("apply", "-f", str(DEPLOYMENT))
    _wait(lambda: len(_ready_pods(c)) == 3, timeout=90)
    pods_before = sorted(p["metadata"]["name"] for p in _ready_pods(c))
    api = client.CoreV1Api(c.api_client())
    resume_from = api.list_namespaced_config_map("default").metadata.resource_version

    acknowledged: list[str] = []
    _write_until_killed(c, acknowledged)
    assert len(acknowledged) >= 100
    assert not (c.data_dir / "state.db").exists()  # the state went to etcd, not SQLite

    c.start()
    names = set(c.ok("get", "cm", "-o", "jsonpath={.items[*].metadata.name}").split())
    missing = [n for n in acknowledged if n not in names]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
    deployment = json.loads(c.ok("get", "deployment", "web-app-deployment", "-o", "json"))
    assert deployment["spec"]["replicas"] == 3
    assert sorted(p["metadata"]["name"] for p in _ready_pods(c)) == pods_before

    # A watch from before the kill replays every ConfigMap written since, then goes live.
    api = client.CoreV1Api(c.api_client())
    api.create_namespaced_config_map("default", {"metadata": {"name": "after-restart"}})
    seen: list[tuple[str, str]] = []
    stream = watch.Watch()
    for event in stream.stream(
        api.list_namespaced_config_map, "default", resource_version=resume_from, timeout_seconds=10
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if seen[-1][1] == "after-restart":
            stream.stop()
    assert seen[-1] == ("ADDED", "after-restart")
    ours = [(kind, name) for kind, name in seen if name in acknowledged]  # not controllers' own
    assert all(kind == "ADDED" for kind, _ in ours)
    assert {name for _, name in ours} == set(acknowledged)
