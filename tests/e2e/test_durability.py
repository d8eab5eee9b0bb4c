"""Nothing acknowledged is lost on SIGKILL, and watches resume from the last revision seen."""

from __future__ import annotations

import json
import signal
import ssl
import threading
import urllib.request

import pytest

from tests.conftest import Cluster

pytestmark = pytest.mark.e2e


def _token(c: Cluster) -> str:
    return (c.data_dir / "tls" / "tokens.csv").read_text().split(",")[0]


def _post(c: Cluster, ctx: ssl.SSLContext, name: str) -> bool:
    body = json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}
    )
    req = urllib.request.Request(
        f"{c.url}/api/v1/namespaces/default/configmaps",
        data=body.encode(),
        method="POST",
        headers={"Authorization": f"Bearer {_token(c)}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status == 201
    except OSError:
        return False


def test_sigkill_during_writes_loses_nothing_acknowledged(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    c.start()
    ctx = ssl.create_default_context(cafile=str(c.data_dir / "tls" / "ca.crt"))
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(i: int) -> None:
        n = 0
        while not stop.is_set() and n < 400:
            name = f"w{i}-{n}"
            if _post(c, ctx, name):
                with lock:
                    acknowledged.append(name)
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    while len(acknowledged) < 200 and any(t.is_alive() for t in threads):
        threading.Event().wait(0.02)
    c.stop(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acknowledged) >= 200
    c.start()
    names = set(c.ok("get", "cm", "-o", "jsonpath={.items[*].metadata.name}").split())
    missing = [n for n in acknowledged if n not in names]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"


def test_watch_resumes_from_last_seen_revision_after_restart(fresh_cluster: Cluster) -> None:
    from kubernetes import client, watch

    c = fresh_cluster
    c.start()
    api = client.CoreV1Api(c.api_client())
    for i in range(3):
        api.create_namespaced_config_map("default", {"metadata": {"name": f"before-{i}"}})
    rv = api.list_namespaced_config_map("default").metadata.resource_version
    c.stop()
    c.start()
    api = client.CoreV1Api(c.api_client())
    for i in range(3):
        api.create_namespaced_config_map("default", {"metadata": {"name": f"after-{i}"}})
    seen = []
    w = watch.Watch()
    for ev in w.stream(api.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=3):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 3:
            w.stop()
    assert seen == [("ADDED", "after-0"), ("ADDED", "after-1"), ("ADDED", "after-2")]
