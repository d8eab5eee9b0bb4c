"""The `kubernetes` Service's EndpointSlice and mirrored hand-written Endpoints, seen by the real kubectl."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import Cluster

pytestmark = pytest.mark.e2e

EXTERNAL_DB = """
apiVersion: v1
kind: Service
metadata: {name: external-db, namespace: mirror-e2e}
spec:
  ports: [{name: pg, port: 5432, targetPort: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: external-db, namespace: mirror-e2e, labels: {team: data}}
subsets:
- addresses: [{ip: 192.0.2.10}, {ip: 192.0.2.11}]
  ports: [{name: pg, port: 5432}]
"""


def _wait(predicate: Any, timeout: float = 30, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def _slices(c: Cluster, ns: str, service: str) -> list[dict[str, Any]]:
    out = c.ok("get", "endpointslices", "-n", ns, "-l", f"kubernetes.io/service-name={service}", "-o", "json")
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def test_kubernetes_service_has_an_endpointslice(sim_cluster: Cluster) -> None:
    c = sim_cluster
    (eps,) = _wait(lambda: _slices(c, "default", "kubernetes"))
    assert eps["metadata"]["name"] == "kubernetes"
    assert eps["addressType"] == "IPv4"
    assert eps["ports"] == [{"name": "https", "port": c.port, "protocol": "TCP"}]
    # the test cluster binds 127.0.0.1, so that is what it advertises
    assert eps["endpoints"] == [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]
    ep = json.loads(c.ok("get", "endpoints", "kubernetes", "-o", "json"))
    assert ep["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    table = c.ok("get", "endpointslices", "-n", "default")
    assert "kubernetes" in table and f"{c.port}" in table


def test_selectorless_service_endpoints_are_mirrored(sim_cluster: Cluster) -> None:
    c = sim_cluster
    c.ok("create", "namespace", "mirror-e2e")
    try:
        c.ok("apply", "-f", "-", input=EXTERNAL_DB)
        (eps,) = _wait(lambda: _slices(c, "mirror-e2e", "external-db"))
        labels = eps["metadata"]["labels"]
        assert labels["endpointslice.kubernetes.io/managed-by"] == "endpointslicemirroring-controller.k8s.io"
        assert labels["team"] == "data"
        assert eps["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
        assert sorted(e["addresses"][0] for e in eps["endpoints"]) == ["192.0.2.10", "192.0.2.11"]
        assert "192.0.2.10,192.0.2.11" in c.ok("get", "endpointslices", "-n", "mirror-e2e")

        c.ok("delete", "endpoints", "external-db", "-n", "mirror-e2e")
        _wait(lambda: not _slices(c, "mirror-e2e", "external-db"))
    finally:
        c.kubectl("delete", "namespace", "mirror-e2e", "--wait=false")
