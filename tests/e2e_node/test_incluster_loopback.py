"""In-cluster API access when the server binds 127.0.0.1 (as this package's cluster does).

The `kubernetes` Service then points at 127.0.0.1; pods on the server's own node still reach
it, because the proxy DNATs 10.96.0.1 to 127.0.0.1 and `route_localnet=1` (set for
NodePorts on localhost) lets the kernel deliver it (docs/services.md).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cluster
from tests.e2e_incluster.helpers import SA, curl_from_pod, start_client_pod
from tests.e2e_node.test_pods import _wait

pytestmark = [pytest.mark.e2e, pytest.mark.root]


def test_pod_reaches_a_loopback_bound_api_server(node_cluster: Cluster) -> None:
    c, ns = node_cluster, "incluster-loopback"
    start_client_pod(c, ns)
    try:
        url = f"https://kubernetes.default.svc/api/v1/namespaces/{ns}/pods"

        def listed() -> str | None:
            code, body = curl_from_pod(c, ns, url, f"--cacert {SA}/ca.crt")
            return body if code == "200" else None

        pods = json.loads(_wait(listed, timeout=60))
        assert [p["metadata"]["name"] for p in pods["items"]] == ["api-client"]
        eps = json.loads(c.ok("get", "endpointslice", "kubernetes", "-n", "default", "-o", "json"))
        assert eps["endpoints"][0]["addresses"] == ["127.0.0.1"]
    finally:
        c.kubectl("delete", "namespace", ns, "--wait=false")
