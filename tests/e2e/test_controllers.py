"""Issue 3 end to end: the seed's Deployment, Job and CronJob on simulated nodes, driven by the real kubectl."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.conftest import SEED, Cluster

pytestmark = pytest.mark.e2e

M = SEED / "manifests"


def _wait(predicate, timeout: float = 60, interval: float = 0.3):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def _pods(c: Cluster, ns: str, selector: str) -> list[dict]:
    return json.loads(c.ok("get", "pods", "-n", ns, "-l", selector, "-o", "json"))["items"]


def _ready(pod: dict) -> bool:
    return any(
        x["type"] == "Ready" and x["status"] == "True" for x in pod.get("status", {}).get("conditions", [])
    )


class RolloutWatcher:
    """Watches the deployment's pods and records the worst counts seen at any revision."""

    def __init__(self, c: Cluster, ns: str, selector: str) -> None:
        from kubernetes import client, watch

        self.api = client.CoreV1Api(c.api_client())
        self.watch = watch.Watch()
        self.ns, self.selector = ns, selector
        self.pods: dict[str, dict] = {}
        self.max_total = 0
        self.min_available = 10**9
        self.started = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        listed = self.api.list_namespaced_pod(self.ns, label_selector=self.selector)
        for p in listed.items:
            self.pods[p.metadata.name] = self.api.api_client.sanitize_for_serialization(p)
        self._measure()
        self.started.set()
        try:
            self._follow(listed.metadata.resource_version)
        except Exception:
            if not self.stopping.is_set():
                raise

    def _follow(self, resource_version: str) -> None:
        for ev in self.watch.stream(
            self.api.list_namespaced_pod,
            self.ns,
            label_selector=self.selector,
            resource_version=resource_version,
            timeout_seconds=120,
        ):
            obj = self.api.api_client.sanitize_for_serialization(ev["object"])
            if ev["type"] == "DELETED":
                self.pods.pop(obj["metadata"]["name"], None)
            else:
                self.pods[obj["metadata"]["name"]] = obj
            self._measure()

    def _measure(self) -> None:
        live = [p for p in self.pods.values() if not p["metadata"].get("deletionTimestamp")]
        self.max_total = max(self.max_total, len(live))
        self.min_available = min(self.min_available, sum(1 for p in live if _ready(p)))

    def start(self) -> None:
        self.thread.start()
        assert self.started.wait(30)

    def stop(self) -> None:
        self.stopping.set()
        self.watch.stop()
        # The stream ends at its next event: make one (a pod label change in the same selector).
        self.thread.join(2)


def test_seed_deployment_scale_rollout_history_undo(sim_cluster: Cluster) -> None:
    c, ns = sim_cluster, "rollout"
    c.ok("create", "namespace", ns)
    c.ok("apply", "-n", ns, "-f", str(M / "03-deployment-web-app-deployment.yaml"))
    _wait(lambda: sum(_ready(p) for p in _pods(c, ns, "app=web-app")) == 3)
    out = c.ok("get", "deployment", "web-app-deployment", "-n", ns)
    assert "3/3" in out

    assert "scaled" in c.ok("scale", "deployment", "web-app-deployment", "--replicas=5", "-n", ns)
    _wait(lambda: sum(_ready(p) for p in _pods(c, ns, "app=web-app")) == 5)
    c.ok("scale", "deployment", "web-app-deployment", "--replicas=3", "-n", ns)
    _wait(lambda: len(_pods(c, ns, "app=web-app")) == 3)

    watcher = RolloutWatcher(c, ns, "app=web-app")
    watcher.start()
    try:
        c.ok("set", "image", "deployment/web-app-deployment", "web-app=nginx:1.22", "-n", ns)
        r = c.kubectl(
            "rollout", "status", "deployment/web-app-deployment", "-n", ns, "--timeout=90s", timeout=120
        )
        assert r.returncode == 0 and "successfully rolled out" in r.stdout, r.stdout + r.stderr
    finally:
        watcher.stop()
    # 3 replicas at 25%/25%: maxSurge = ceil(0.75) = 1, maxUnavailable = floor(0.75) = 0
    assert watcher.max_total <= 3 + 1, watcher.max_total
    assert watcher.min_available >= 3 - 0, watcher.min_available

    history = c.ok("rollout", "history", "deployment/web-app-deployment", "-n", ns)
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    assert "rolled back" in c.ok("rollout", "undo", "deployment/web-app-deployment", "-n", ns)
    c.ok("rollout", "status", "deployment/web-app-deployment", "-n", ns, "--timeout=90s")
    d = json.loads(c.ok("get", "deploy", "web-app-deployment", "-n", ns, "-o", "json"))
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.21"
    rs = json.loads(c.ok("get", "rs", "-l", "app=web-app", "-n", ns, "-o", "json"))["items"]
    assert sorted(r["spec"]["replicas"] for r in rs) == [0, 3]
    zero = next(r for r in rs if r["spec"]["replicas"] == 0)
    assert zero["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.22"
    table = c.ok("get", "replicasets", "-l", "app=web-app", "-n", ns)
    assert any(line.split()[1:4] == ["0", "0", "0"] for line in table.splitlines()[1:])
    desc = c.ok("describe", "deployment", "web-app-deployment", "-n", ns)
    assert "ScalingReplicaSet" in desc and "NewReplicaSetAvailable" in desc
    assert "web-app" in c.ok("get", "all", "-l", "app=web-app", "-n", ns)


def test_delete_deployment_cascades_and_orphan_keeps(sim_cluster: Cluster) -> None:
    c, ns = sim_cluster, "cascade"
    c.ok("create", "namespace", ns)
    c.ok("create", "deployment", "gone", "--image=nginx:1.21", "--replicas=2", "-n", ns)
    c.ok("create", "deployment", "kept", "--image=nginx:1.21", "--replicas=2", "-n", ns)
    _wait(lambda: len(_pods(c, ns, "app=gone")) == 2 and len(_pods(c, ns, "app=kept")) == 2)
    c.ok("delete", "deployment", "gone", "-n", ns)
    _wait(lambda: not _pods(c, ns, "app=gone") and "gone" not in c.ok("get", "rs", "-n", ns, "-o", "name"))
    c.ok("delete", "deployment", "kept", "-n", ns, "--cascade=orphan")
    time.sleep(2)
    assert "kept" in c.ok("get", "rs", "-n", ns, "-o", "name")
    pods = _pods(c, ns, "app=kept")
    assert len(pods) == 2
    rs = json.loads(c.ok("get", "rs", "-n", ns, "-o", "json"))["items"][0]
    assert not rs["metadata"].get("ownerReferences")


def test_seed_job_completes_and_cronjob_instantiates(sim_cluster: Cluster) -> None:
    c, ns = sim_cluster, "batch"
    c.ok("create", "namespace", ns)
    c.ok("apply", "-n", ns, "-f", str(M / "12-batch-job-cronjob.yaml"))
    r = c.kubectl(
        "wait", "--for=condition=complete", "job/data-processor", "-n", ns, "--timeout=60s", timeout=90
    )
    assert r.returncode == 0, r.stderr
    assert "Complete" in c.ok("get", "job", "data-processor", "-n", ns)
    out = c.ok("create", "job", "report-now", "--from=cronjob/daily-report", "-n", ns)
    assert "job.batch/report-now created" in out
    r = c.kubectl("wait", "--for=condition=complete", "job/report-now", "-n", ns, "--timeout=60s", timeout=90)
    assert r.returncode == 0, r.stderr
    events = c.ok("get", "events", "-n", ns, "--sort-by=.metadata.creationTimestamp")
    assert "SuccessfulCreate" in events and "Completed" in events


def test_unschedulable_pod_stays_pending_with_upstream_message(sim_cluster: Cluster) -> None:
    c, ns = sim_cluster, "sched"
    c.ok("create", "namespace", ns)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "huge"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "1000"}}}]
        },
    }
    c.ok("apply", "-n", ns, "-f", "-", input=json.dumps(pod))

    def unschedulable() -> dict | None:
        p = json.loads(c.ok("get", "pod", "huge", "-n", ns, "-o", "json"))
        cond = [x for x in p.get("status", {}).get("conditions", []) if x["type"] == "PodScheduled"]
        return cond[0] if cond and cond[0]["status"] == "False" else None

    cond = _wait(unschedulable)
    assert cond["reason"] == "Unschedulable"
    assert cond["message"].startswith("0/3 nodes are available: 3 Insufficient cpu.")
    assert "Pending" in c.ok("get", "pod", "huge", "-n", ns)
    assert "FailedScheduling" in c.ok("describe", "pod", "huge", "-n", ns)


def test_simulated_nodes_join_a_running_cluster(sim_cluster: Cluster) -> None:
    import subprocess
    import sys
    from pathlib import Path

    litekube = str(Path(sys.executable).parent / "litekube")
    proc = subprocess.Popen(
        [
            litekube,
            "nodes",
            "simulate",
            "--count",
            "2",
            "--prefix",
            "joined-",
            "--kubeconfig",
            sim_cluster.kubeconfig,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def joined() -> bool:
            out = sim_cluster.ok("get", "nodes")
            return (
                sum(1 for line in out.splitlines() if line.startswith("joined-") and " Ready " in line) == 2
            )

        _wait(joined, timeout=30)
    finally:
        proc.send_signal(2)
        proc.communicate(timeout=30)
    for name in ("joined-0", "joined-1"):
        sim_cluster.ok("delete", "node", name)


def test_every_namespace_gets_the_root_ca_config_map(sim_cluster: Cluster) -> None:
    c = sim_cluster
    c.ok("create", "namespace", "rootca")
    ca = (c.data_dir / "tls" / "ca.crt").read_text()

    def published() -> dict | None:
        r = c.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "rootca", "-o", "json")
        return json.loads(r.stdout) if r.returncode == 0 else None

    cm = _wait(published, timeout=20)
    assert cm["data"]["ca.crt"] == ca
    # a damaged copy is repaired
    c.ok(
        "patch",
        "configmap",
        "kube-root-ca.crt",
        "-n",
        "rootca",
        "--type=merge",
        "-p",
        '{"data":{"ca.crt":"x"}}',
    )
    _wait(lambda: (published() or {}).get("data", {}).get("ca.crt") == ca, timeout=20)
