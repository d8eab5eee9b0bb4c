"""The seed's manifests through the real kubectl: apply, re-apply, change, get, describe, delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import SEED, Cluster

pytestmark = pytest.mark.e2e

WHOLE_OBJECT_MANIFESTS = sorted(p for p in (SEED / "manifests").glob("*.yaml") if "fragment" not in p.name)


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("manifest", WHOLE_OBJECT_MANIFESTS, ids=lambda p: p.stem)
def test_seed_manifest_applies_reapplies_and_deletes(
    cluster: Cluster, manifest: Path, tmp_path: Path
) -> None:
    ns = "seed-" + manifest.stem.split("-")[0]
    cluster.ok("create", "namespace", ns)
    docs = _docs(manifest)
    out = cluster.ok("apply", "-n", ns, "-f", str(manifest))
    assert out.count(" created") == len(docs), out

    before = json.loads(cluster.ok("get", "-n", ns, "-f", str(manifest), "-o", "json"))
    again = cluster.ok("apply", "-n", ns, "-f", str(manifest))
    # A bare Pod that declares volumes is "configured" by kubectl on a real cluster too: the
    # server added the kube-api-access volume and mounts, so the lists differ in length and
    # kubectl's three-way patch carries $setElementOrder directives. The server finds
    # nothing to change and writes nothing.
    expected = [
        "configured" if d["kind"] == "Pod" and d["spec"].get("volumes") else "unchanged" for d in docs
    ]
    assert [line.rsplit(" ", 1)[-1] for line in again.strip().splitlines()] == expected, again
    after = json.loads(cluster.ok("get", "-n", ns, "-f", str(manifest), "-o", "json"))
    versions = [[o["metadata"]["resourceVersion"] for o in r.get("items", [r])] for r in (before, after)]
    assert versions[0] == versions[1]

    # A changed copy (a new label on every object) is "configured" and the label is stored.
    changed = []
    for d in docs:
        d = json.loads(json.dumps(d))
        d["metadata"].setdefault("labels", {})["seed-test"] = "changed"
        changed.append(d)
    changed_file = tmp_path / "changed.yaml"
    changed_file.write_text(yaml.safe_dump_all(changed))
    out = cluster.ok("apply", "-n", ns, "-f", str(changed_file))
    assert out.count(" configured") == len(docs), out
    for d in docs:
        kind = d["kind"].lower()
        got = json.loads(cluster.ok("get", "-n", ns, kind, d["metadata"]["name"], "-o", "json"))
        assert got["metadata"]["labels"]["seed-test"] == "changed"
        assert got["metadata"]["uid"] and got["metadata"]["creationTimestamp"]
        last = json.loads(got["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
        assert last["metadata"]["labels"]["seed-test"] == "changed"

    out = cluster.ok("delete", "-n", ns, "-f", str(changed_file))
    assert out.count(" deleted") == len(docs), out
    for d in docs:
        r = cluster.kubectl("get", "-n", ns, d["kind"].lower(), d["metadata"]["name"])
        assert r.returncode == 1 and "NotFound" in r.stderr
    cluster.ok("delete", "namespace", ns, "--wait=false")


def test_deployment_defaults_match_a_real_cluster(cluster: Cluster) -> None:
    cluster.ok("create", "namespace", "defaults")
    cluster.ok(
        "apply", "-n", "defaults", "-f", str(SEED / "manifests" / "03-deployment-web-app-deployment.yaml")
    )
    d = json.loads(cluster.ok("get", "-n", "defaults", "deploy", "web-app-deployment", "-o", "json"))
    spec = d["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always" and pod["dnsPolicy"] == "ClusterFirst"
    assert pod["terminationGracePeriodSeconds"] == 30 and pod["schedulerName"] == "default-scheduler"
    c = pod["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["ports"][0]["protocol"] == "TCP"
    assert c["livenessProbe"]["timeoutSeconds"] == 1 and c["livenessProbe"]["failureThreshold"] == 3
    assert d["metadata"]["generation"] == 1


def test_service_gets_cluster_ip_and_node_port(cluster: Cluster) -> None:
    cluster.ok("create", "namespace", "svc")
    cluster.ok("apply", "-n", "svc", "-f", str(SEED / "manifests" / "06-service-nodeport-service.yaml"))
    cluster.ok("apply", "-n", "svc", "-f", str(SEED / "manifests" / "04-service-web-app-service.yaml"))
    svcs = json.loads(cluster.ok("get", "-n", "svc", "svc", "-o", "json"))["items"]
    by_name = {s["metadata"]["name"]: s for s in svcs}
    for s in svcs:
        ip = s["spec"]["clusterIP"]
        assert ip.startswith("10.") and s["spec"]["clusterIPs"] == [ip]
    assert len({s["spec"]["clusterIP"] for s in svcs}) == len(svcs)
    nodeport = next(s for s in svcs if s["spec"]["type"] == "NodePort")
    assert nodeport["spec"]["ports"][0]["nodePort"] == 30080
    table = cluster.ok("get", "-n", "svc", "svc")
    assert "NAME" in table and "CLUSTER-IP" in table and "PORT(S)" in table
    assert "80:30080/TCP" in table
    # The same nodePort again is refused with the field named.
    dup = yaml.safe_load((SEED / "manifests" / "06-service-nodeport-service.yaml").read_text())
    dup["metadata"]["name"] = "dup-nodeport"
    r = cluster.kubectl("apply", "-n", "svc", "-f", "-", input=yaml.safe_dump(dup))
    assert r.returncode != 0 and "spec.ports[0].nodePort" in r.stderr and "already allocated" in r.stderr
    assert "dup-nodeport" not in cluster.ok("get", "-n", "svc", "svc", "-o", "name")
    assert by_name
