"""A pod reads the API with its mounted service account token, as client-go's in-cluster config does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Cluster
from tests.e2e_incluster.helpers import SA, curl_from_pod, node_ip, start_client_pod
from tests.e2e_node.test_pods import _wait

pytestmark = [pytest.mark.e2e, pytest.mark.root]

# the "external database" pattern, pointed at the API server itself: a Service without a
# selector whose hand-written Endpoints name the node address (only reachable through mirroring)
MIRRORED = """
apiVersion: v1
kind: Service
metadata: {name: api-mirror, namespace: NS}
spec:
  ports: [{name: https, port: 8443, targetPort: PORT}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: api-mirror, namespace: NS}
subsets:
- addresses: [{ip: NODE_IP}]
  ports: [{name: https, port: PORT}]
"""


@pytest.fixture(scope="module")
def client_pod(incluster_cluster: Cluster) -> str:
    c, ns = incluster_cluster, "incluster"
    start_client_pod(c, ns)
    return ns


def test_kubernetes_service_points_at_the_node_address(incluster_cluster: Cluster) -> None:
    c = incluster_cluster
    selector = "kubernetes.io/service-name=kubernetes"
    (eps,) = _wait(
        lambda: json.loads(c.ok("get", "endpointslices", "-n", "default", "-l", selector, "-o", "json"))[
            "items"
        ]
    )
    address = node_ip(c)
    assert address != "127.0.0.1"
    assert eps["endpoints"] == [{"addresses": [address], "conditions": {"ready": True}}]
    assert eps["ports"] == [{"name": "https", "port": c.port, "protocol": "TCP"}]
    ep = json.loads(c.ok("get", "endpoints", "kubernetes", "-n", "default", "-o", "json"))
    assert ep["subsets"][0]["addresses"] == [{"ip": address}]


def test_pod_lists_pods_through_kubernetes_default_svc(incluster_cluster: Cluster, client_pod: str) -> None:
    c, ns = incluster_cluster, client_pod

    def listed() -> tuple[str, str] | None:
        code, body = curl_from_pod(
            c, ns, f"https://kubernetes.default.svc/api/v1/namespaces/{ns}/pods", f"--cacert {SA}/ca.crt"
        )
        return (code, body) if code == "200" else None

    code, body = _wait(listed, timeout=60)
    pods: dict[str, Any] = json.loads(body)
    assert pods["kind"] == "PodList"
    assert [p["metadata"]["name"] for p in pods["items"]] == ["api-client"]
    # and it is the token that gets us in
    code, body = curl_from_pod(
        c,
        ns,
        "https://kubernetes.default.svc/api/v1/namespaces/default/pods",
        f"--cacert {SA}/ca.crt",
        token="not-a-token",
    )
    assert code == "401", body


def test_selectorless_service_routes_through_mirrored_slices(
    incluster_cluster: Cluster, client_pod: str
) -> None:
    c, ns = incluster_cluster, client_pod
    manifest = MIRRORED.replace("NS", ns).replace("NODE_IP", node_ip(c)).replace("PORT", str(c.port))
    c.ok("apply", "-f", "-", input=manifest)

    def answered() -> tuple[str, str] | None:
        # -k: the certificate names kubernetes.default.svc, not api-mirror; routing is the point here
        code, body = curl_from_pod(
            c, ns, f"https://api-mirror.{ns}.svc:8443/api/v1/namespaces/{ns}/pods", "-k"
        )
        return (code, body) if code == "200" else None

    _, body = _wait(answered, timeout=60)
    assert json.loads(body)["kind"] == "PodList"
    c.ok("delete", "endpoints", "api-mirror", "-n", ns)

    def refused() -> bool:
        code, _ = curl_from_pod(c, ns, f"https://api-mirror.{ns}.svc:8443/", "-k", "--max-time 3")
        return code == "000"

    _wait(refused, timeout=60)
