"""Bad input is refused with upstream's answers and changes nothing; credentials are required."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request

import pytest
import yaml

from tests.conftest import SEED, Cluster

pytestmark = pytest.mark.e2e

DEPLOYMENT = yaml.safe_load((SEED / "manifests" / "03-deployment-web-app-deployment.yaml").read_text())


def _broken(mutate) -> str:  # type: ignore[no-untyped-def]
    d = json.loads(json.dumps(DEPLOYMENT))
    mutate(d)
    return yaml.safe_dump(d)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["spec"].__setitem__("replicas", -1), "spec.replicas: Invalid value: -1"),
        (
            lambda d: d["spec"]["template"]["metadata"]["labels"].__setitem__("app", "other"),
            "spec.template.metadata.labels: Invalid value",
        ),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("image"),
            "spec.template.spec.containers[0].image: Required value",
        ),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].__setitem__(
                "containerPort", 70000
            ),
            "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000",
        ),
        (lambda d: d["metadata"].__setitem__("name", "Bad_Name"), 'metadata.name: Invalid value: "Bad_Name"'),
    ],
    ids=["negative-replicas", "selector-mismatch", "missing-image", "port-range", "bad-name"],
)
def test_invalid_deployment_is_refused(cluster: Cluster, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    cluster.kubectl("create", "namespace", "invalid")
    r = cluster.kubectl("apply", "-n", "invalid", "-f", "-", input=_broken(mutate))
    assert r.returncode == 1
    assert "is invalid" in r.stderr and expected in r.stderr, r.stderr
    assert cluster.ok("get", "deploy", "-n", "invalid", "-o", "name") == ""


def test_unknown_field_strict(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "strict")
    r = cluster.kubectl(
        "apply", "-n", "strict", "-f", "-", input=_broken(lambda d: d["spec"].__setitem__("replica", 3))
    )
    assert r.returncode == 1 and 'unknown field "spec.replica"' in r.stderr, r.stderr
    r = cluster.kubectl(
        "apply",
        "--validate=false",
        "-n",
        "strict",
        "-f",
        "-",
        input=_broken(lambda d: d["spec"].__setitem__("replica", 3)),
    )
    assert r.returncode == 0, r.stderr
    stored = json.loads(cluster.ok("get", "deploy", "-n", "strict", "web-app-deployment", "-o", "json"))
    assert "replica" not in stored["spec"], "unknown fields are dropped, as a real API server does"


def test_concurrent_updates_from_same_version_conflict(cluster: Cluster) -> None:
    from kubernetes import client

    api = client.CoreV1Api(cluster.api_client())
    api.create_namespaced_config_map("default", {"metadata": {"name": "race"}, "data": {"n": "0"}})
    base = api.read_namespaced_config_map("race", "default")
    results: list[int] = []

    def update(value: str) -> None:
        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="race", resource_version=base.metadata.resource_version),
            data={"n": value},
        )
        try:
            api.replace_namespaced_config_map("race", "default", body)
            results.append(200)
        except client.ApiException as e:
            results.append(e.status)
            assert "the object has been modified" in e.body

    # both differ from the stored "0": an update that changes nothing is not written (as upstream)
    threads = [threading.Thread(target=update, args=(str(i),)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]


def test_unauthenticated_and_wrong_token_get_401(cluster: Cluster) -> None:
    ctx = ssl.create_default_context(cafile=str(cluster.data_dir / "tls" / "ca.crt"))
    for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
        req = urllib.request.Request(f"{cluster.url}/api/v1/namespaces/default/pods", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, context=ctx, timeout=10)
        assert e.value.code == 401
        assert json.loads(e.value.read())["reason"] == "Unauthorized"
    token = (cluster.data_dir / "tls" / "tokens.csv").read_text().split(",")[0]
    req = urllib.request.Request(
        f"{cluster.url}/api/v1/namespaces/default/pods", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        assert json.loads(r.read())["kind"] == "PodList"
    with urllib.request.urlopen(f"{cluster.url}/version", context=ctx, timeout=10) as r:
        assert json.loads(r.read())["gitVersion"].startswith("v1.")


def test_protobuf_creates_from_kubectl(cluster: Cluster) -> None:
    cluster.ok("create", "namespace", "proto")
    cluster.ok("apply", "-n", "proto", "-f", str(SEED / "manifests" / "12-batch-job-cronjob.yaml"))
    out = cluster.ok("create", "job", "manual-report", "--from=cronjob/daily-report", "-n", "proto")
    assert "job.batch/manual-report created" in out
    job = json.loads(cluster.ok("get", "job", "manual-report", "-n", "proto", "-o", "json"))
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "daily_report.py"]
    out = cluster.ok("create", "deployment", "made", "--image=nginx:1.21", "--replicas=2", "-n", "proto")
    assert "deployment.apps/made created" in out
    d = json.loads(cluster.ok("get", "deploy", "made", "-n", "proto", "-o", "json"))
    assert d["spec"]["replicas"] == 2 and d["spec"]["selector"]["matchLabels"] == {"app": "made"}


def test_server_side_apply(cluster: Cluster) -> None:
    cluster.ok("create", "namespace", "ssa")
    m = str(SEED / "manifests" / "04-service-web-app-service.yaml")
    out = cluster.ok("apply", "--server-side", "-n", "ssa", "-f", m)
    assert "serverside-applied" in out
    out = cluster.ok("apply", "--server-side", "-n", "ssa", "-f", m)
    assert "serverside-applied" in out
    svc = json.loads(
        cluster.ok("get", "svc", "web-app-service", "-n", "ssa", "-o", "json", "--show-managed-fields")
    )
    assert any(
        f["manager"] == "kubectl" and f["operation"] == "Apply" for f in svc["metadata"]["managedFields"]
    )
