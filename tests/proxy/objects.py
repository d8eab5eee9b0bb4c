"""Builders of Service and EndpointSlice dicts shaped as the API serves them."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


def service(
    name: str,
    cluster_ip: str,
    ports: list[JSON],
    namespace: str = "default",
    kind: str = "ClusterIP",
    **spec: Any,
) -> JSON:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": kind, "clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": ports, **spec},
    }


def endpoint(ip: str, ready: bool = True, node: str = "node-1", terminating: bool = False) -> JSON:
    return {
        "addresses": [ip],
        "conditions": {"ready": ready, "serving": ready or terminating, "terminating": terminating},
        "nodeName": node,
        "targetRef": {"kind": "Pod", "name": f"pod-{ip.replace('.', '-')}", "namespace": "default"},
    }


def endpoint_slice(
    service_name: str,
    endpoints: list[JSON],
    ports: list[JSON],
    namespace: str = "default",
    suffix: str = "abcde",
) -> JSON:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-{suffix}",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }
