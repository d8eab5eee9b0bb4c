"""Field managers with the real kubectl: Update entries for ordinary writes, apply conflicts
with them, and wrongly typed values refused at decoding (400) as upstream does."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.conftest import Cluster

pytestmark = pytest.mark.e2e


def _deployment(replicas: Any = 2, name: str = "web") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
                },
            },
        }
    )


def _managed(cluster: Cluster, ns: str, name: str = "web") -> list[dict[str, Any]]:
    out = cluster.ok("get", "deploy", name, "-n", ns, "-o", "json", "--show-managed-fields")
    entries: list[dict[str, Any]] = json.loads(out)["metadata"]["managedFields"]
    return entries


def test_client_side_apply_records_an_update_entry_that_server_side_apply_conflicts_with(
    cluster: Cluster,
) -> None:
    cluster.ok("create", "namespace", "managers")
    cluster.ok("apply", "-n", "managers", "-f", "-", input=_deployment(2))
    [entry] = _managed(cluster, "managers")
    assert entry["manager"] == "kubectl-client-side-apply" and entry["operation"] == "Update"
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1"
    assert "f:replicas" in entry["fieldsV1"]["f:spec"]
    assert (
        "f:kubectl.kubernetes.io/last-applied-configuration"
        in entry["fieldsV1"]["f:metadata"]["f:annotations"]
    )

    r = cluster.kubectl("apply", "--server-side", "-n", "managers", "-f", "-", input=_deployment(3))
    assert r.returncode == 1
    assert 'conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas' in r.stderr, r.stderr
    out = cluster.ok("get", "deploy", "web", "-n", "managers", "-o", "jsonpath={.spec.replicas}")
    assert out == "2"

    out = cluster.ok(
        "apply", "--server-side", "--force-conflicts", "-n", "managers", "-f", "-", input=_deployment(3)
    )
    assert "serverside-applied" in out
    entries = {e["manager"]: e for e in _managed(cluster, "managers")}
    assert entries["kubectl"]["operation"] == "Apply"
    assert entries["kubectl"]["fieldsV1"]["f:spec"]["f:replicas"] == {}
    # After a successful server-side apply kubectl migrates the client-side-apply ownership into
    # its Apply entry (a JSON patch of managedFields, which the server must honour).
    assert "kubectl-client-side-apply" not in entries


def test_scale_and_patch_record_their_own_managers(cluster: Cluster) -> None:
    from kubernetes import client

    cluster.ok("create", "namespace", "scaling")
    cluster.ok("create", "-n", "scaling", "-f", "-", input=_deployment(1))
    apps = client.AppsV1Api(cluster.api_client())
    apps.patch_namespaced_deployment_scale(
        "web", "scaling", {"spec": {"replicas": 4}}, field_manager="autoscaler"
    )
    cluster.ok("label", "deploy", "web", "-n", "scaling", "tier=front")
    entries = {e["manager"]: e for e in _managed(cluster, "scaling")}
    assert entries["autoscaler"]["subresource"] == "scale"
    assert entries["autoscaler"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert entries["kubectl-label"]["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}
    assert "f:replicas" not in entries["kubectl-create"]["fieldsV1"]["f:spec"]
    # Labelling again with the same value changes nothing, so no entry moves.
    before = _managed(cluster, "scaling")
    cluster.ok("label", "--overwrite", "deploy", "web", "-n", "scaling", "tier=front")
    assert _managed(cluster, "scaling") == before


@pytest.mark.parametrize(
    ("replicas", "expected"),
    [
        (
            "three",
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
        (
            1.5,
            "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
    ],
    ids=["string", "fraction"],
)
def test_wrong_json_type_is_refused_at_decoding(cluster: Cluster, replicas: Any, expected: str) -> None:
    ns = f"typed-{'s' if isinstance(replicas, str) else 'f'}"
    cluster.ok("create", "namespace", ns)
    r = cluster.kubectl("apply", "-n", ns, "-f", "-", input=_deployment(replicas))
    assert r.returncode == 1
    assert "(BadRequest)" in r.stderr, r.stderr
    assert f'Deployment in version "v1" cannot be handled as a Deployment: {expected}' in r.stderr, r.stderr
    assert cluster.ok("get", "deploy", "-n", ns, "-o", "name") == ""


def test_wrong_json_type_in_a_patch_changes_nothing(cluster: Cluster) -> None:
    cluster.ok("create", "namespace", "typed-patch")
    cluster.ok("create", "-n", "typed-patch", "-f", "-", input=_deployment(1))
    r = cluster.kubectl(
        "patch",
        "deploy",
        "web",
        "-n",
        "typed-patch",
        "--type=merge",
        "-p",
        '{"spec":{"template":{"spec":{"containers":{}}}}}',
    )
    assert r.returncode == 1
    assert (
        "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers "
        "of type []v1.Container" in r.stderr
    ), r.stderr
    out = cluster.ok(
        "get", "deploy", "web", "-n", "typed-patch", "-o", "jsonpath={.spec.template.spec.containers[0].name}"
    )
    assert out == "nginx"
