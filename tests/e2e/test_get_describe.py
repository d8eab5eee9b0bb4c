"""`kubectl get` in its many forms, describe and explain, against stored objects."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from tests.conftest import KUBECTL, SEED, Cluster

pytestmark = pytest.mark.e2e

M = SEED / "manifests"


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> str:
    ns = "getdesc"
    cluster.ok("create", "namespace", ns)
    for f in (
        "01-pod-simple-app.yaml",
        "03-deployment-web-app-deployment.yaml",
        "04-service-web-app-service.yaml",
        "12-batch-job-cronjob.yaml",
        "08-ingress-web-app-ingress.yaml",
    ):
        cluster.ok("apply", "-n", ns, "-f", str(M / f))
    return ns


def _header(out: str) -> list[str]:
    return re.split(r"\s{2,}", out.splitlines()[0].strip())


def test_get_pods_columns(cluster: Cluster, web: str) -> None:
    assert _header(cluster.ok("get", "pods", "-n", web)) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    wide = cluster.ok("get", "pods", "-n", web, "-o", "wide")
    assert _header(wide) == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    row = wide.splitlines()[1].split()
    assert row[0] == "simple-app" and row[1] == "0/1" and row[2] == "Pending"
    labels = cluster.ok("get", "pods", "-n", web, "--show-labels")
    assert "LABELS" in labels and "app=web-server" in labels


def test_get_all_namespaces_and_sort(cluster: Cluster, web: str) -> None:
    out = cluster.ok("get", "deploy", "-A")
    assert _header(out)[:2] == ["NAMESPACE", "NAME"]
    assert re.search(rf"^{web}\s+web-app-deployment\s+0/3\s+0\s+0\s", out, re.M), out
    out = cluster.ok("get", "pods", "-n", web, "--sort-by=.metadata.creationTimestamp")
    assert "simple-app" in out
    out = cluster.ok("get", "events", "-A", "--sort-by=.metadata.creationTimestamp")
    assert out == "" or "LAST SEEN" in out


def test_get_all_by_label(cluster: Cluster, web: str) -> None:
    out = cluster.ok("get", "all", "-n", web, "-l", "app=web-app")
    assert "deployment.apps/web-app-deployment" in out
    r = cluster.kubectl("get", "all", "-n", web)
    assert (
        r.returncode == 0
        and "service/web-app-service" in r.stdout
        and "cronjob.batch/daily-report" in r.stdout
    )


def test_get_one_object_and_job_cronjob_ingress_columns(cluster: Cluster, web: str) -> None:
    assert _header(cluster.ok("get", "cj", "-n", web)) == [
        "NAME",
        "SCHEDULE",
        "TIMEZONE",
        "SUSPEND",
        "ACTIVE",
        "LAST SCHEDULE",
        "AGE",
    ]
    assert "0 6 * * *" in cluster.ok("get", "cronjob", "daily-report", "-n", web)
    assert _header(cluster.ok("get", "jobs", "-n", web))[:3] == ["NAME", "STATUS", "COMPLETIONS"]
    ing = cluster.ok("get", "ingress", "-n", web)
    assert _header(ing) == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert "myapp.example.com" in ing


def test_describe_each_kind(cluster: Cluster, web: str) -> None:
    d = cluster.ok("describe", "deployment", "web-app-deployment", "-n", web)
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in d
    assert "nginx:1.21" in d
    p = cluster.ok("describe", "pod", "simple-app", "-n", web)
    assert "Name:" in p and "simple-app" in p and "Containers:" in p
    s = cluster.ok("describe", "service", "web-app-service", "-n", web)
    assert "Selector:" in s and "app=web-app" in s
    for kind, name in (
        ("job", "data-processor"),
        ("cronjob", "daily-report"),
        ("ingress", "web-app-ingress"),
        ("namespace", web),
    ):
        assert name in cluster.ok("describe", kind, name, "-n", web)


def test_explain(cluster: Cluster) -> None:
    out = cluster.ok("explain", "deployment.spec.strategy")
    assert "KIND:       Deployment" in out and "rollingUpdate" in out


def test_get_watch_prints_changes(cluster: Cluster, web: str) -> None:
    proc = subprocess.Popen(
        [KUBECTL, "get", "cm", "-n", web, "-w"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cluster.env(),
    )
    try:
        time.sleep(1.0)
        cluster.ok("create", "configmap", "watched", "-n", web, "--from-literal=a=b")
        deadline = time.monotonic() + 15
        seen = ""
        assert proc.stdout is not None
        while time.monotonic() < deadline and "watched" not in seen:
            line = proc.stdout.readline()
            seen += line
        assert "watched" in seen
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_scale_and_set_image_patch(cluster: Cluster, web: str) -> None:
    assert "scaled" in cluster.ok("scale", "deployment", "web-app-deployment", "--replicas=5", "-n", web)
    d = json.loads(cluster.ok("get", "deploy", "web-app-deployment", "-n", web, "-o", "json"))
    assert d["spec"]["replicas"] == 5
    gen = d["metadata"]["generation"]
    cluster.ok("set", "image", "deployment/web-app-deployment", "web-app=nginx:1.22", "-n", web)
    d = json.loads(cluster.ok("get", "deploy", "web-app-deployment", "-n", web, "-o", "json"))
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.22"
    assert d["metadata"]["generation"] == gen + 1
    cluster.ok("label", "deploy", "web-app-deployment", "-n", web, "extra=yes")
    d2 = json.loads(cluster.ok("get", "deploy", "web-app-deployment", "-n", web, "-o", "json"))
    assert d2["metadata"]["generation"] == gen + 1, "metadata-only changes must not bump generation"
