"""Builders of the objects the Ingress controller reads, shaped as the API serves them."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml

from litekube.ingress.certificates import self_signed

JSON = dict[str, Any]
SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seed" / "manifests"


def seed_ingress(number: str) -> JSON:
    """Seed 08 (web-app-ingress) or 09 (secure-ingress), in namespace default."""
    name = {"08": "08-ingress-web-app-ingress.yaml", "09": "09-ingress-secure-ingress.yaml"}[number]
    path = SEED / name
    if path.exists():
        body: JSON = yaml.safe_load(path.read_text())
    else:  # the seed's text, for checkouts without the shared directory
        body = copy.deepcopy(SEED_08 if number == "08" else SEED_09)
    body["metadata"]["namespace"] = "default"
    return body


def service(name: str, ports: list[JSON], namespace: str = "default", **spec: Any) -> JSON:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": "ClusterIP", "ports": ports, **spec},
    }


def endpoint(ip: str, ready: bool = True, terminating: bool = False) -> JSON:
    return {"addresses": [ip], "conditions": {"ready": ready, "serving": ready, "terminating": terminating}}


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


def tls_secret(name: str, crt: bytes, key: bytes, namespace: str = "default") -> JSON:
    """What `kubectl create secret tls NAME --cert --key` creates."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode()},
    }


def ingress(name: str, rules: list[JSON], namespace: str = "default", **extra: Any) -> JSON:
    annotations = extra.pop("annotations", None)
    metadata: JSON = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": {"ingressClassName": "nginx", "rules": rules, **extra},
    }


def rule(host: str | None, *paths: tuple[str, str, str, int | str]) -> JSON:
    """rule("a.example.com", ("/api", "Prefix", "api-service", 8080), ...)"""
    items = []
    for path, path_type, svc, port in paths:
        port_ref = {"number": port} if isinstance(port, int) else {"name": port}
        items.append(
            {"path": path, "pathType": path_type, "backend": {"service": {"name": svc, "port": port_ref}}}
        )
    body: JSON = {"http": {"paths": items}}
    if host:
        body["host"] = host
    return body


def nginx_class(default: bool = True) -> JSON:
    meta: JSON = {"name": "nginx"}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": meta,
        "spec": {"controller": "k8s.io/ingress-nginx"},
    }


def seed_backends(web: list[str], api: list[str], web_port: int = 80, api_port: int = 8080) -> list[JSON]:
    """The seed's web-app-service (80) and api-service (8080) with slices on the given addresses."""
    return [
        service("web-app-service", [{"port": 80, "targetPort": 80, "protocol": "TCP"}]),
        service("api-service", [{"port": 8080, "targetPort": 8080, "protocol": "TCP"}]),
        endpoint_slice("web-app-service", [endpoint(ip) for ip in web], [{"name": "", "port": web_port}]),
        endpoint_slice("api-service", [endpoint(ip) for ip in api], [{"name": "", "port": api_port}]),
    ]


_CERT_CACHE: dict[str, tuple[bytes, bytes]] = {}


def certificate(host: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for `host` (cached: key generation is the slow part)."""
    if host not in _CERT_CACHE:
        _CERT_CACHE[host] = self_signed(host, [host])
    return _CERT_CACHE[host]


SEED_08: JSON = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {
        "name": "web-app-ingress",
        "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/"},
    },
    "spec": {
        "ingressClassName": "nginx",
        "rules": [
            rule(
                "myapp.example.com",
                ("/", "Prefix", "web-app-service", 80),
                ("/api", "Prefix", "api-service", 8080),
            )
        ],
    },
}
SEED_09: JSON = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "secure-ingress"},
    "spec": {
        "tls": [{"hosts": ["myapp.example.com"], "secretName": "tls-secret"}],
        "rules": [rule("myapp.example.com", ("/", "Prefix", "web-app-service", 80))],
    },
}
