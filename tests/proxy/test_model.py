from __future__ import annotations

from litekube.proxy.model import Endpoint, build_model
from tests.proxy.objects import endpoint, endpoint_slice, service


def test_named_target_port_resolves_through_the_slice_port() -> None:
    svc = service("web", "10.96.0.20", [{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}])
    eps = endpoint_slice("web", [endpoint("10.244.0.5")], [{"name": "http", "port": 8080, "protocol": "TCP"}])
    [sp] = build_model([svc], [eps])
    assert (sp.port, sp.cluster_ip, sp.endpoints) == (80, "10.96.0.20", (Endpoint("10.244.0.5", 8080),))
    assert sp.key == "default/web/tcp/http"


def test_only_ready_endpoints_then_serving_terminating_as_fallback() -> None:
    svc = service("web", "10.96.0.20", [{"port": 80, "protocol": "TCP"}])
    port = [{"name": "", "port": 80, "protocol": "TCP"}]
    mixed = endpoint_slice("web", [endpoint("10.244.0.5"), endpoint("10.244.0.6", ready=False)], port)
    assert [e.ip for e in build_model([svc], [mixed])[0].endpoints] == ["10.244.0.5"]
    draining = endpoint_slice(
        "web",
        [endpoint("10.244.0.7", ready=False, terminating=True), endpoint("10.244.0.8", ready=False)],
        port,
    )
    assert [e.ip for e in build_model([svc], [draining])[0].endpoints] == ["10.244.0.7"]


def test_endpoints_from_several_slices_are_merged_once_per_address() -> None:
    svc = service("web", "10.96.0.20", [{"port": 80}])
    port = [{"port": 80, "protocol": "TCP"}]
    a = endpoint_slice("web", [endpoint("10.244.0.5"), endpoint("10.244.0.6")], port, suffix="a")
    b = endpoint_slice("web", [endpoint("10.244.0.6"), endpoint("10.244.0.7")], port, suffix="b")
    other = endpoint_slice("other", [endpoint("10.244.0.9")], port)
    assert [e.ip for e in build_model([svc], [a, b, other])[0].endpoints] == [
        "10.244.0.5",
        "10.244.0.6",
        "10.244.0.7",
    ]


def test_headless_and_external_name_services_are_not_proxied() -> None:
    headless = service("db", "None", [{"port": 5432}])
    external = {
        "metadata": {"name": "ext", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "x.y"},
    }
    assert build_model([headless, external], []) == []


def test_load_balancer_answers_on_node_addresses_localhost_and_ingress() -> None:
    svc = service(
        "lb",
        "10.96.0.30",
        [{"port": 8080, "nodePort": 31000}],
        kind="LoadBalancer",
        externalTrafficPolicy="Local",
    )
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.2", "ipMode": "VIP"}]}}
    eps = endpoint_slice(
        "lb", [endpoint("10.244.0.5", node="node-1"), endpoint("10.244.0.6", node="node-2")], [{"port": 80}]
    )
    [sp] = build_model([svc], [eps], node_name="node-1", node_addresses=["192.0.2.2"])
    assert sp.external_ips == ("127.0.0.1", "192.0.2.2")
    assert sp.node_port == 31000 and sp.external_local
    assert [(e.ip, e.local) for e in sp.endpoints] == [("10.244.0.5", True), ("10.244.0.6", False)]


def test_cluster_ip_service_ignores_node_port_and_policy_and_reads_affinity() -> None:
    svc = service(
        "web",
        "10.96.0.20",
        [
            {"port": 80, "nodePort": 30001},
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"port": 1, "protocol": "XYZ"},
        ],
        externalTrafficPolicy="Local",
        sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}},
    )
    ports = build_model([svc], [])
    assert [(p.protocol, p.port, p.node_port, p.external_local, p.affinity_timeout) for p in ports] == [
        ("TCP", 80, None, False, 60),
        ("UDP", 53, None, False, 60),
    ]


def test_excluded_cluster_ips_are_skipped() -> None:
    svc = service("kube-dns", "10.96.0.10", [{"port": 53, "protocol": "UDP"}], namespace="kube-system")
    assert build_model([svc], [], exclude_ips=["10.96.0.10"]) == []
