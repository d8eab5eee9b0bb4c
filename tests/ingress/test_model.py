"""The routing model: class selection, path semantics, backend resolution and problems."""

from __future__ import annotations

import pytest

from litekube.ingress.annotations import parse_annotations
from litekube.ingress.model import Route, RoutingModel, build_model, is_ours
from tests.ingress import objects
from tests.ingress.cases import CASES, split
from tests.ingress.objects import ingress, rule

A = "nginx.ingress.kubernetes.io/"


def model(name: str) -> RoutingModel:
    kinds = split(CASES[name]())
    return build_model(
        kinds["Ingress"], kinds["IngressClass"], kinds["Service"], kinds["EndpointSlice"], kinds["Secret"]
    )


def routes(m: RoutingModel, host: str) -> dict[tuple[str, str], Route]:
    server = next(s for s in m.servers if s.host == host)
    return {(r.path, r.path_type): r for r in server.routes}


def test_class_selection() -> None:
    ours, default = objects.nginx_class(), objects.nginx_class(default=True)
    not_default = objects.nginx_class(default=False)
    plain = ingress("a", [])
    del plain["spec"]["ingressClassName"]
    assert is_ours(plain, [default], "nginx", "k8s.io/ingress-nginx")
    assert not is_ours(plain, [not_default], "nginx", "k8s.io/ingress-nginx")
    named = ingress("b", [])
    assert is_ours(named, [], "nginx", "k8s.io/ingress-nginx")  # before our class exists
    named["spec"]["ingressClassName"] = "other"
    assert not is_ours(named, [ours], "nginx", "k8s.io/ingress-nginx")
    plain["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx"}
    assert is_ours(plain, [not_default], "nginx", "k8s.io/ingress-nginx")
    plain["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "traefik"}
    assert not is_ours(plain, [default], "nginx", "k8s.io/ingress-nginx")


def test_wildcard_and_class_case_serves_only_ours() -> None:
    m = model("wildcard-and-classes")
    hosts = [s.host for s in m.servers]
    assert hosts == ["_", "*.example.com", "legacy.example.com"]  # "other" belongs to traefik
    assert ("/status", "Exact") in routes(m, "_")  # a rule without host lands on the default server


def test_prefix_paths_are_normalized_and_exact_wins_duplicates() -> None:
    m = model("path-types")
    r = routes(m, "paths.example.com")
    assert ("/prefix", "Prefix") in r  # trailing slash dropped: /prefix/ matches /prefix too
    assert ("/impl", "Prefix") in r  # ImplementationSpecific is Prefix without regex
    assert r[("/both", "Exact")].upstream == "default-api-service-8080"
    assert r[("/both", "Prefix")].upstream == "default-web-app-service-80"
    # longest first, then Exact before Prefix for one path
    order = [
        (x.path, x.path_type) for x in next(s for s in m.servers if s.host == "paths.example.com").routes
    ]
    assert order.index(("/both", "Exact")) < order.index(("/both", "Prefix"))
    assert order[-1] == ("/", "Prefix")


def test_named_port_resolves_to_ready_endpoints_only() -> None:
    m = model("path-types")
    named = next(u for u in m.upstreams if u.name == "default-named-http")
    assert [(e.address, e.port) for e in named.endpoints] == [("10.244.0.9", 3000)]


def test_bad_references_answer_503_and_are_reported_the_rest_unaffected() -> None:
    m = model("bad-references")
    r = routes(m, "broken.example.com")
    assert r[("/missing", "Prefix")].status == 503 and r[("/missing", "Prefix")].upstream is None
    assert r[("/wrong-port", "Prefix")].status == 503
    assert r[("/no-endpoints", "Prefix")].status == 503
    assert r[("/ok", "Prefix")].upstream == "default-api-service-8080"
    reasons = {(p.ingress, p.reason) for p in m.problems}
    assert ("default/broken", "ServiceNotFound") in reasons
    assert ("default/broken", "ServicePortNotFound") in reasons
    assert ("default/broken", "SecretNotFound") in reasons
    assert not any(p.message == "" for p in m.problems)  # no Event for a service without endpoints
    broken = next(s for s in m.servers if s.host == "broken.example.com")
    assert broken.certificate is None  # missing secret: the default certificate, as upstream


def test_default_backend_fills_root_of_its_hosts_and_the_catch_all() -> None:
    m = model("bad-references")
    assert routes(m, "fallback.example.com")[("/", "Prefix")].upstream == "default-web-app-service-80"
    assert routes(m, "_")[("/", "Prefix")].upstream == "default-web-app-service-80"


def test_oldest_ingress_wins_a_shared_path_and_tls_applies_to_the_host() -> None:
    m = model("seed-08-and-09")
    r = routes(m, "myapp.example.com")
    assert r[("/", "Prefix")].ingress == "default/web-app-ingress"
    assert any(p.reason == "DuplicatePath" and p.ingress == "default/secure-ingress" for p in m.problems)
    server = next(s for s in m.servers if s.host == "myapp.example.com")
    assert server.certificate is not None and server.certificate.name == "default/tls-secret"
    assert "PRIVATE KEY" not in repr(server.certificate)


def test_invalid_secret_is_reported() -> None:
    crt, _ = objects.certificate("myapp.example.com")
    _, other_key = objects.certificate("other.example.com")
    items = CASES["seed-09"]()
    items = [i for i in items if i["kind"] != "Secret"] + [objects.tls_secret("tls-secret", crt, other_key)]
    kinds = split(items)
    m = build_model(
        kinds["Ingress"], kinds["IngressClass"], kinds["Service"], kinds["EndpointSlice"], kinds["Secret"]
    )
    assert [p.reason for p in m.problems] == ["InvalidSecret"]
    assert "does not match" in m.problems[0].message


@pytest.mark.parametrize(
    ("annotations", "field", "value"),
    [
        ({A + "rewrite-target": "/$1"}, "rewrite_target", "/$1"),
        ({A + "use-regex": "true"}, "use_regex", True),
        ({A + "ssl-redirect": "false"}, "ssl_redirect", False),
        ({A + "force-ssl-redirect": "True"}, "force_ssl_redirect", True),
        ({A + "proxy-body-size": "0"}, "proxy_body_size", "0"),
        ({A + "proxy-read-timeout": "120"}, "proxy_read_timeout", 120),
        ({A + "proxy-send-timeout": "30s"}, "proxy_send_timeout", 30),
        ({A + "proxy-connect-timeout": "2"}, "proxy_connect_timeout", 2),
        ({A + "backend-protocol": "grpc"}, "backend_protocol", "GRPC"),
        (
            {A + "whitelist-source-range": "10.0.0.0/8,1.2.3.4"},
            "allow_source_ranges",
            ("10.0.0.0/8", "1.2.3.4/32"),
        ),
        ({A + "permanent-redirect": "https://x.example/"}, "redirect", (301, "https://x.example/")),
        ({A + "temporal-redirect": "https://x.example/"}, "redirect", (302, "https://x.example/")),
        (
            {A + "permanent-redirect": "https://x.example/", A + "permanent-redirect-code": "308"},
            "redirect",
            (308, "https://x.example/"),
        ),
    ],
)
def test_supported_annotations(annotations: dict[str, str], field: str, value: object) -> None:
    options, problems = parse_annotations(annotations)
    assert problems == []
    assert getattr(options, field) == value


@pytest.mark.parametrize(
    ("annotations", "reason"),
    [
        ({A + "enable-cors": "true"}, "UnsupportedAnnotation"),
        ({A + "proxy-read-timeout": "soon"}, "InvalidAnnotation"),
        ({A + "rewrite-target": "/x; return 200"}, "InvalidAnnotation"),
        ({A + "proxy-body-size": "8m;"}, "InvalidAnnotation"),
        ({A + "backend-protocol": "AJP"}, "InvalidAnnotation"),
        ({A + "use-regex": "yes"}, "InvalidAnnotation"),
        ({A + "permanent-redirect": "javascript:alert(1)"}, "InvalidAnnotation"),
        ({A + "permanent-redirect": "https://x/", A + "permanent-redirect-code": "200"}, "InvalidAnnotation"),
    ],
)
def test_refused_annotations(annotations: dict[str, str], reason: str) -> None:
    _, problems = parse_annotations({**annotations, "unrelated.io/x": "y"})
    assert [p.reason for p in problems] == [reason]


def test_bad_source_range_fails_closed() -> None:
    options, problems = parse_annotations({A + "whitelist-source-range": "10.0.0.0/8,nonsense"})
    assert options.allow_source_ranges == ()
    assert problems[0].reason == "InvalidAnnotation"


def test_unsafe_paths_are_refused() -> None:
    bad = ingress(
        "bad",
        [
            rule(
                "x.example.com",
                ("/ok\n}", "Prefix", "api-service", 8080),
                ("relative", "Exact", "api-service", 8080),
            )
        ],
    )
    m = build_model([bad], [objects.nginx_class()], [], [], [])
    assert [p.reason for p in m.problems] == ["InvalidPath", "InvalidPath"]
    assert [r.path for r in routes(m, "x.example.com").values()] == ["/"]
