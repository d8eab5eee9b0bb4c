"""Named routing cases, each a list of API objects: the inputs of the golden nginx.conf files."""

from __future__ import annotations

from tests.ingress import objects
from tests.ingress.objects import JSON, endpoint, endpoint_slice, ingress, rule, service, tls_secret

A = "nginx.ingress.kubernetes.io/"


def _seed_backends() -> list[JSON]:
    return objects.seed_backends(["10.244.0.5", "10.244.0.6"], ["10.244.0.7"], 80, 8080)


def _tls() -> JSON:
    crt, key = objects.certificate("myapp.example.com")
    return tls_secret("tls-secret", crt, key)


def seed_08() -> list[JSON]:
    return [objects.nginx_class(), *_seed_backends(), objects.seed_ingress("08")]


def seed_09() -> list[JSON]:
    return [objects.nginx_class(), *_seed_backends(), _tls(), objects.seed_ingress("09")]


def seed_08_and_09() -> list[JSON]:
    first, second = objects.seed_ingress("08"), objects.seed_ingress("09")
    first["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    second["metadata"]["creationTimestamp"] = "2026-01-01T00:00:01Z"
    return [objects.nginx_class(), *_seed_backends(), _tls(), first, second]


def path_types() -> list[JSON]:
    named = service("named", [{"name": "http", "port": 8000, "targetPort": "web"}])
    return [
        objects.nginx_class(),
        *_seed_backends(),
        named,
        endpoint_slice(
            "named",
            [
                endpoint("10.244.0.9"),
                endpoint("10.244.0.10", ready=False),
                endpoint("10.244.0.11", terminating=True),
            ],
            [{"name": "http", "port": 3000}],
        ),
        ingress(
            "paths",
            [
                rule(
                    "paths.example.com",
                    ("/exact", "Exact", "web-app-service", 80),
                    ("/prefix/", "Prefix", "api-service", 8080),
                    ("/impl", "ImplementationSpecific", "named", "http"),
                    ("/both", "Prefix", "web-app-service", 80),
                    ("/both", "Exact", "api-service", 8080),
                )
            ],
        ),
    ]


def regex_rewrite() -> list[JSON]:
    return [
        objects.nginx_class(),
        *_seed_backends(),
        ingress(
            "regex",
            [
                rule(
                    "regex.example.com",
                    ("/something(/|$)(.*)", "ImplementationSpecific", "api-service", 8080),
                )
            ],
            annotations={A + "rewrite-target": "/$2"},
        ),
        ingress(
            "plain-regex",
            [rule("regex.example.com", ("/v[0-9]+/items", "ImplementationSpecific", "web-app-service", 80))],
            annotations={A + "use-regex": "true"},
        ),
    ]


def annotations() -> list[JSON]:
    return [
        objects.nginx_class(),
        *_seed_backends(),
        ingress(
            "tuned",
            [rule("tuned.example.com", ("/", "Prefix", "api-service", 8080))],
            annotations={
                A + "proxy-body-size": "8m",
                A + "proxy-read-timeout": "120",
                A + "proxy-send-timeout": "90",
                A + "proxy-connect-timeout": "3",
                A + "backend-protocol": "HTTPS",
                A + "whitelist-source-range": "10.0.0.0/8, 192.168.1.1",
                A + "force-ssl-redirect": "true",
                A + "enable-cors": "true",
            },
        ),
        ingress(
            "grpc",
            [rule("grpc.example.com", ("/", "Prefix", "api-service", 8080))],
            annotations={A + "backend-protocol": "GRPC", A + "ssl-redirect": "false"},
        ),
        ingress(
            "moved",
            [rule("old.example.com", ("/", "Prefix", "api-service", 8080))],
            annotations={
                A + "permanent-redirect": "https://new.example.com/",
                A + "permanent-redirect-code": "308",
            },
        ),
        ingress(
            "elsewhere",
            [rule("temp.example.com", ("/", "Prefix", "api-service", 8080))],
            annotations={A + "temporal-redirect": "https://maintenance.example.com/"},
        ),
        ingress(
            "closed",
            [rule("closed.example.com", ("/", "Prefix", "api-service", 8080))],
            annotations={A + "allowlist-source-range": "not-a-cidr"},
        ),
    ]


def bad_references() -> list[JSON]:
    return [
        objects.nginx_class(),
        *_seed_backends(),
        service("empty", [{"port": 80}]),
        ingress(
            "broken",
            [
                rule(
                    "broken.example.com",
                    ("/missing", "Prefix", "no-such-service", 80),
                    ("/wrong-port", "Prefix", "api-service", 9999),
                    ("/no-endpoints", "Prefix", "empty", 80),
                    ("/ok", "Prefix", "api-service", 8080),
                )
            ],
            tls=[{"hosts": ["broken.example.com"], "secretName": "no-such-secret"}],
        ),
        ingress(
            "fallback",
            [rule("fallback.example.com", ("/api", "Prefix", "api-service", 8080))],
            defaultBackend={"service": {"name": "web-app-service", "port": {"number": 80}}},
        ),
        ingress(
            "default-only",
            [],
            defaultBackend={"service": {"name": "web-app-service", "port": {"number": 80}}},
        ),
    ]


def wildcard_and_classes() -> list[JSON]:
    other_class = ingress("other", [rule("other.example.com", ("/", "Prefix", "api-service", 8080))])
    other_class["spec"]["ingressClassName"] = "traefik"
    legacy = ingress("legacy", [rule("legacy.example.com", ("/", "Prefix", "api-service", 8080))])
    del legacy["spec"]["ingressClassName"]
    legacy["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx"}
    return [
        objects.nginx_class(),
        {
            "kind": "IngressClass",
            "metadata": {"name": "traefik"},
            "spec": {"controller": "traefik.io/ingress-controller"},
        },
        *_seed_backends(),
        ingress("wild", [rule("*.example.com", ("/", "Prefix", "web-app-service", 80))]),
        ingress("hostless", [rule(None, ("/status", "Exact", "api-service", 8080))]),
        other_class,
        legacy,
    ]


CASES = {
    "seed-08": seed_08,
    "seed-09": seed_09,
    "seed-08-and-09": seed_08_and_09,
    "path-types": path_types,
    "regex-rewrite": regex_rewrite,
    "annotations": annotations,
    "bad-references": bad_references,
    "wildcard-and-classes": wildcard_and_classes,
}


def split(items: list[JSON]) -> dict[str, list[JSON]]:
    kinds: dict[str, list[JSON]] = {
        k: [] for k in ("Ingress", "IngressClass", "Service", "EndpointSlice", "Secret")
    }
    for item in items:
        kinds[item["kind"]].append(item)
    return kinds
